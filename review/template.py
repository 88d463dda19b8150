"""Reading CloudFormation as a reviewer does: what an intrinsic refers to, and a readable name for each resource.

A resource's readable name is its construct path without the stack and the trailing `Resource`
("CustomerNotification/Queue"); tokens such as `{"Fn::GetAtt": [..., "Arn"]}` are shown as the name
of the resource they point at. Without construct paths, logical ids are used.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cloud_assembly import Stack, references

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_CONSTRUCT_LEAVES = ("Resource", "Default")


def as_list(value: Any) -> list[Any]:
    """CloudFormation's "one or a list of" values as a list."""
    return value if isinstance(value, list) else [value] if value is not None else []


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of an IAM policy document (a single statement may be given without a list)."""
    found = document.get("Statement", []) if isinstance(document, dict) else []
    return [found] if isinstance(found, dict) else list(found)


class Template:
    """One synthesized stack template, with the construct path of each resource."""

    def __init__(self, *, stack: Stack) -> None:
        self.stack_name = stack.name
        self.raw = stack.template
        self.resources: dict[str, dict[str, Any]] = dict(stack.template.get("Resources", {}))
        self.paths = stack.paths

    # --- what is where --------------------------------------------------------------------------------
    def of_type(self, *types: str) -> list[tuple[str, dict[str, Any]]]:
        return [(lid, r) for lid, r in self.resources.items() if r.get("Type") in types]

    def type_of(self, logical_id: str) -> str:
        return str(self.resources.get(logical_id, {}).get("Type", ""))

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources.get(logical_id, {}).get("Properties", {}) or {})

    def construct_path(self, logical_id: str) -> list[str]:
        path = self.paths.get(logical_id)
        if path is None:
            path = (self.resources.get(logical_id, {}).get("Metadata") or {}).get("aws:cdk:path", "")
            path = path.removeprefix(f"{self.stack_name}/")
        parts = [p for p in path.split("/") if p]
        while len(parts) > 1 and parts[-1] in _CONSTRUCT_LEAVES:
            parts.pop()
        return parts

    def name(self, logical_id: str) -> str:
        """Readable name: construct path below the stack ("CustomerNotification/Queue"), else the logical id."""
        parts = self.construct_path(logical_id)
        return "/".join(parts) if parts else logical_id

    def group(self, logical_id: str) -> str | None:
        """The top-level construct that built the resource (its service), if it is nested in one."""
        parts = self.construct_path(logical_id)
        return parts[0] if len(parts) > 1 else None

    def short_name(self, logical_id: str) -> str:
        """The name within its group ("Queue" in the CustomerNotification group)."""
        parts = self.construct_path(logical_id)
        return "/".join(parts[1:]) if len(parts) > 1 else self.name(logical_id)

    # --- references -----------------------------------------------------------------------------------
    def references(self, value: Any) -> list[str]:
        """Logical ids of this template's resources that `value` refers to (Ref, GetAtt, Sub), in order."""
        return [name for name in references(value) if name in self.resources]

    def target(self, value: Any) -> str | None:
        refs = self.references(value)
        return refs[0] if refs else None

    def find_by_name(self, literal: str) -> str | None:
        """A resource whose name property (Name, TopicName, FunctionName, ...) is this literal string."""
        for lid, resource in self.resources.items():
            props = resource.get("Properties") or {}
            if any(key.endswith("Name") and props.get(key) == literal for key in props):
                return lid
        return None

    # --- readable text --------------------------------------------------------------------------------
    def describe(self, value: Any, *, embedded: bool = False) -> str:
        """A value as a reviewer reads it: tokens replaced by the name of what they point at.

        Inside a joined or substituted string a reference reads `${CustomerNotification/Queue}`."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, list):
            return ", ".join(self.describe(v) for v in value)
        if isinstance(value, dict) and len(value) == 1:
            [(key, arg)] = value.items()
            if key == "Ref":
                return self._reference(str(arg), "", embedded=embedded)
            if key == "Fn::GetAtt":
                target, attribute = (arg[0], arg[1]) if isinstance(arg, list) else str(arg).split(".", 1)
                return self._reference(target, attribute, embedded=embedded)
            if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
                return str(arg[0]).join(self.describe(v, embedded=True) for v in arg[1])
            if key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                if isinstance(text, str):
                    return _SUB_VARIABLE.sub(lambda m: self._sub_reference(m.group(1)), text)
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def _reference(self, target: str, attribute: str, *, embedded: bool) -> str:
        if target not in self.resources:
            return "${" + target + (f".{attribute}" if attribute else "") + "}"
        text = self.name(target) if attribute in ("", "Arn") else f"{self.name(target)}.{attribute}"
        return "${" + text + "}" if embedded else text

    def _sub_reference(self, variable: str) -> str:
        target, _, attribute = variable.partition(".")
        return self._reference(target, attribute, embedded=True)
