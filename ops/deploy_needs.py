"""What a synthesized stack needs from the account it is deployed to, read from the cloud assembly.

Preflight checks the account against this, not against cdk.json: the template in cdk.out is what
`cdk deploy` will send (its SSM-typed parameters, the bootstrap version its rule requires, whether it
sets the account's API Gateway logging role, the event source mappings' maximum concurrency, the
alarm email subscription).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloud_assembly import AssemblyError, load_assembly

__all__ = ["AssemblyError", "DeployNeeds", "read_needs"]
SSM_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<"
BOOTSTRAP_PARAMETER = "BootstrapVersion"  # the parameter CDK's stack synthesizer adds


@dataclass(frozen=True)
class DeployNeeds:
    stack_name: str
    template_file: Path
    # CloudFormation parameter -> the SSM parameter name it resolves at deploy time (overrides applied)
    ssm_parameters: dict[str, str] = field(default_factory=dict)
    default_ssm_parameters: dict[str, str] = field(default_factory=dict)  # as synthesized
    bootstrap_parameter: str | None = None  # e.g. /cdk-bootstrap/hnb659fds/version
    min_bootstrap_version: int = 0
    sets_api_gateway_role: bool = False  # the template has AWS::ApiGateway::Account
    logs_api_access: bool = False  # a stage has access logging (needs the account role)
    mapping_concurrency: int = 0  # sum of the SQS event source mappings' MaximumConcurrency
    unbounded_mappings: int = 0  # event source mappings without a maximum
    functions_without_mapping: int = 0  # e.g. the producer behind the API
    alarm_emails: tuple[str, ...] = ()
    public_methods: int = 0  # API methods anyone may call (AuthorizationType NONE)
    signed_methods: int = 0  # API methods callers sign for (AWS_IAM)


def _rule_minimum(template: dict[str, Any]) -> int:
    """The bootstrap version the template's CheckBootstrapVersion rule requires (it lists the ones refused)."""
    refused: list[int] = []
    for rule in template.get("Rules", {}).values():
        for assertion in rule.get("Assertions", []):
            contains = assertion.get("Assert", {}).get("Fn::Not", [{}])[0].get("Fn::Contains", [])
            if len(contains) == 2 and contains[1] == {"Ref": BOOTSTRAP_PARAMETER}:
                refused += [int(v) for v in contains[0] if str(v).isdigit()]
    return max(refused) + 1 if refused else 0


def read_needs(cdk_out: Path, stack_name: str | None = None,
               parameter_overrides: dict[str, str] | None = None) -> DeployNeeds:
    stack = load_assembly(cdk_out).find(stack_name)
    stack_name, template_file, template = stack.name, stack.template_path, stack.template
    versions = [stack.requires_bootstrap_version, _rule_minimum(template)]

    parameters = template.get("Parameters", {})
    ssm = {name: str(p.get("Default", "")) for name, p in parameters.items()
           if str(p.get("Type", "")).startswith(SSM_PARAMETER_TYPE) and name != BOOTSTRAP_PARAMETER}
    overrides = dict(parameter_overrides or {})
    unknown = sorted(set(overrides) - set(parameters))
    if unknown:
        raise AssemblyError(f"the template of {stack_name} has no parameter {', '.join(unknown)} "
                            f"(it has {', '.join(sorted(parameters))})")
    resources = template.get("Resources", {})
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["Type"], []).append(resource.get("Properties", {}))
    mappings = by_type.get("AWS::Lambda::EventSourceMapping", [])
    methods = [m for m in by_type.get("AWS::ApiGateway::Method", []) if m.get("HttpMethod") != "OPTIONS"]
    maxima = [m.get("ScalingConfig", {}).get("MaximumConcurrency") for m in mappings]
    mapped = [json.dumps(m.get("FunctionName")) for m in mappings]
    unmapped = [k for k, r in resources.items()
                if r["Type"] == "AWS::Lambda::Function" and json.dumps({"Ref": k}) not in mapped]
    return DeployNeeds(
        stack_name=stack_name, template_file=template_file,
        ssm_parameters={name: overrides.get(name, path) for name, path in ssm.items()},
        default_ssm_parameters=ssm,
        bootstrap_parameter=parameters.get(BOOTSTRAP_PARAMETER, {}).get("Default"),
        min_bootstrap_version=max(versions),
        sets_api_gateway_role=bool(by_type.get("AWS::ApiGateway::Account")),
        logs_api_access=any("AccessLogSetting" in s for s in by_type.get("AWS::ApiGateway::Stage", [])),
        mapping_concurrency=sum(int(m) for m in maxima if m is not None),
        unbounded_mappings=sum(1 for m in maxima if m is None),
        functions_without_mapping=len(unmapped),
        alarm_emails=tuple(str(s.get("Endpoint")) for s in by_type.get("AWS::SNS::Subscription", [])
                           if s.get("Protocol") == "email"),
        public_methods=sum(1 for m in methods if m.get("AuthorizationType", "NONE") == "NONE"),
        signed_methods=sum(1 for m in methods if m.get("AuthorizationType") == "AWS_IAM"),
    )
