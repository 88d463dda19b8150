"""Resolving a template's intrinsic functions to what was deployed, as CloudFormation does while it creates
a stack: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split, against the physical ids and
attributes recorded so far (the local cloud's provisioner records each as it creates the resource).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# The SSM parameter the CDK's bootstrap rule reads (qualifier hnb659fds, the default).
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


class UnresolvableError(ValueError):
    pass


class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split against physical ids."""

    def __init__(self, template: Mapping[str, Any], physical_ids: Mapping[str, str], *, region: str,
                 account: str, stack_name: str, attributes: Mapping[tuple[str, str], str] | None = None) -> None:
        self.resources = template["Resources"]
        self.parameters = template.get("Parameters", {})
        self.physical_ids = dict(physical_ids)
        self.attributes = dict(attributes or {})
        self.pseudo = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws",
                       "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": stack_name, "AWS::NoValue": None}

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        if name in self.parameters:
            return self.parameters[name].get("Default")
        raise UnresolvableError(f"Ref {name}: no physical id")

    def get_att(self, name: str, attribute: str) -> str:
        if (name, attribute) in self.attributes:
            return self.attributes[(name, attribute)]
        kind = self.resources[name]["Type"]
        raise UnresolvableError(f"Fn::GetAtt {name}.{attribute} ({kind}) is not known here")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, arg)] = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                variables = {k: self.resolve(v) for k, v in variables.items()}
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self._sub(m.group(1), variables)), text)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, name: str, variables: Mapping[str, Any]) -> Any:
        if name in variables:
            return variables[name]
        if "." in name:
            return self.get_att(*name.split(".", 1))
        return self.ref(name)


def as_json_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
