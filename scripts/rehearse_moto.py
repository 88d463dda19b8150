"""What moto needs to take the synthesized template from the real CDK CLI: five changes, reversible.

The rehearsal sends the template through the CDK CLI unchanged, so moto must take it as
CloudFormation would. Five moto 5.2 gaps stop it (tests/deploy/test_rehearse_moto.py shows each is
still there, and what the change does):

1. moto's CloudFormation resolves the Default of every SSM-typed parameter
   (AWS::SSM::Parameter::Value<...>) against its SSM before it looks at the values the caller
   passed; CloudFormation never reads a default that a value replaces. A default naming a parameter
   moto cannot hold (`/aws/service/powertools/...`: moto refuses names under /aws/service/) fails
   the deploy even with `--parameters PowertoolsLayerParameter=/a/name/moto/holds` (AttributeError,
   500). Fix: while moto loads the parameters, the defaults of SSM parameters given a value are
   out of sight.
2. moto's KMS key from CloudFormation hands the template's tags ({"Key", "Value"}) to a tagging
   service that reads {"TagKey", "TagValue"}: KeyError, and moto leaves the stack
   CREATE_COMPLETE with most resources never created. Fix: the tags are renamed on the way in.
   (The local cloud drops KMS key tags from its copy of the template for the same reason.)
3. A change set (how `cdk deploy` creates a stack) adds resources in template order, ignoring
   DependsOn, where CreateStack follows it: the API's Deployment comes before its Method and moto
   refuses it ("The REST API doesn't contain any methods"). Fix: a change set adds resources in
   DependsOn order, as CreateStack does.
4. Types moto's CloudFormation does not implement (alarms, subscriptions, topic and queue policies,
   the API Gateway account setting: the local cloud creates most of them itself) are skipped, and
   a template that references one fails (the dashboard names its alarms). The rehearsal is about
   the CLI's path, not about those types: each becomes a stand-in that answers Ref and Fn::GetAtt
   and is listed as such (physical id `standin:<type>:<logical id>`, or for a stage, as
   CloudFormation's Ref gives, its name); nothing of it is created.
5. A stack created by a change set has no outputs: executing it never computes them (UpdateStack
   does). Fix: they are computed once the change set has run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.parsing import ResourceMap
from moto.core.common_models import CloudFormationModel
from moto.kms.models import Key

SSM_TYPE = "AWS::SSM::Parameter::"
STAND_IN_PREFIX = "standin:"
REF_IS_PROPERTY = {"AWS::ApiGateway::Stage": "StageName"}  # what CloudFormation's Ref returns for these


class StandIn(CloudFormationModel):
    """A resource of a type moto's CloudFormation does not implement: recorded, never created."""

    def __init__(self, resource_type: str, logical_id: str, region: str, account: str, ref: str | None = None) -> None:
        self.resource_type, self.logical_id, self.region, self.account = resource_type, logical_id, region, account
        self.physical_resource_id = ref or f"{STAND_IN_PREFIX}{resource_type}:{logical_id}"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "Moto::StandIn"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],  # type: ignore[override]
                                        account_id: str, region_name: str, **kwargs: Any) -> StandIn:
        resource_type = kwargs["ResourceType"]
        ref = cloudformation_json.get("Properties", {}).get(REF_IS_PROPERTY.get(resource_type, ""))
        return cls(resource_type, kwargs["LogicalId"], region_name, account_id, ref=ref)

    def get_cfn_attribute(self, attribute_name: str) -> str:
        service = self.resource_type.split("::")[1].lower()
        return f"arn:aws:{service}:{self.region}:{self.account}:{self.physical_resource_id}:{attribute_name}"

    def delete(self, account_id: str, region_name: str) -> None:
        pass

    def is_created(self) -> bool:
        return True


def _stand_in_for_unknown_types(original: Any) -> Any:
    def resource_class_from_type(resource_type: str) -> type[CloudFormationModel]:
        found = original(resource_type)
        if found is None and resource_type not in parsing.NULL_MODELS:
            return StandIn
        return found

    return resource_class_from_type


def _given_ssm_defaults_hidden(original: Any) -> Any:
    def load_parameters(self: ResourceMap) -> None:
        slots = self._template.get("Parameters", {})
        given = [name for name in self.input_parameters
                 if str(slots.get(name, {}).get("Type", "")).startswith(SSM_TYPE) and "Default" in slots[name]]
        hidden = {name: slots[name].pop("Default") for name in given}
        try:
            original(self)
        finally:
            for name, default in hidden.items():
                slots[name]["Default"] = default

    return load_parameters


def _key_tags_renamed(original: Any) -> Any:
    def create_from_cloudformation_json(resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> Key:
        properties = dict(cloudformation_json.get("Properties", {}))
        if "Tags" in properties:
            properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties["Tags"]]
        return original(resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name,
                        **kwargs)

    return create_from_cloudformation_json


def in_dependency_order(resources: dict[str, Any], names: list[str]) -> list[str]:
    """`names` reordered so that each comes after what it DependsOn (among `names`)."""
    wanted, ordered, seen = set(names), [], set()

    def visit(name: str) -> None:
        if name in seen or name not in wanted:
            return
        seen.add(name)
        depends = resources[name].get("DependsOn", [])
        for dependency in [depends] if isinstance(depends, str) else depends:
            visit(dependency)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered


def _adds_in_dependency_order(original: Any) -> Any:
    def build_resource_diff(self: ResourceMap, other_template: dict[str, Any],
                            parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        actions = original(self, other_template, parameters)
        actions["Add"] = in_dependency_order(other_template["Resources"], actions["Add"])
        return actions

    return build_resource_diff


def _outputs_after_change_sets(original: Any) -> Any:
    def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        # the change set moto just ran: by id, else the last one of that name (as moto picks it)
        change_set = self.change_sets.get(change_set_name) or [
            c for c in self.change_sets.values() if c.change_set_name == change_set_name][-1]
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()

    return execute_change_set


@contextmanager
def moto_fixes() -> Iterator[None]:
    """While active: given SSM parameters win over their defaults; KMS key tags from templates work; a
    change set adds resources in DependsOn order; types moto does not implement get stand-ins; a
    change set leaves its stack with outputs."""
    load_parameters, diff = ResourceMap.__dict__["load_parameters"], ResourceMap.__dict__["build_resource_diff"]
    class_from_type, execute = parsing.resource_class_from_type, CloudFormationBackend.__dict__["execute_change_set"]
    parsing.resource_class_from_type = _stand_in_for_unknown_types(class_from_type)
    CloudFormationBackend.execute_change_set = _outputs_after_change_sets(execute)  # type: ignore[method-assign]
    create_key = Key.__dict__["create_from_cloudformation_json"]  # the classmethod itself, to put back
    ResourceMap.load_parameters = _given_ssm_defaults_hidden(load_parameters)  # type: ignore[method-assign]
    ResourceMap.build_resource_diff = _adds_in_dependency_order(diff)  # type: ignore[method-assign]
    Key.create_from_cloudformation_json = staticmethod(  # type: ignore[method-assign, assignment]
        _key_tags_renamed(Key.create_from_cloudformation_json))
    try:
        yield
    finally:
        ResourceMap.load_parameters = load_parameters  # type: ignore[method-assign]
        ResourceMap.build_resource_diff = diff  # type: ignore[method-assign]
        parsing.resource_class_from_type = class_from_type
        CloudFormationBackend.execute_change_set = execute  # type: ignore[method-assign]
        Key.create_from_cloudformation_json = create_key  # type: ignore[method-assign]
