"""What a change does to the deployed stack: the CDK's own diff of the BASE and HEAD templates, made reviewable.

The diff itself comes from @aws-cdk/cloudformation-diff (the engine of `cdk diff`, run by cfn_diff.js):
which resources are added, removed or replaced (it knows which property changes force a replacement)
and which IAM or resource-policy statements change. This module names resources by construct path,
shows each property change as old -> new at the leaf that changed, and pairs a removal with an
addition of the same type whose construct path differs in one segment: a rename, which replaces the
resource. STRICT fails on a stateful resource (table, queue, key, bucket) removed or replaced, and
on a breaking change of the API contract.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.contract import ContractChanges
from review.errors import ReviewError
from review.filter_policy import render_filter_policy
from review.template import Template, as_list
from review.tools import Tools

STATEFUL_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::SQS::Queue", "AWS::KMS::Key",
                  "AWS::S3::Bucket")
POLICY_PROPERTIES = ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument", "Policies")
IGNORED_OTHER_CHANGES = ("Metadata",)
REPLACEMENTS = {"WILL_REPLACE": "replaced", "MAY_REPLACE": "may be replaced"}
MAX_VALUE = 80


@dataclass(frozen=True, kw_only=True)
class PropertyChange:
    path: str
    old: str
    new: str
    replaces: bool = False


@dataclass(frozen=True, kw_only=True)
class ResourceChange:
    logical_id: str
    name: str
    type: str
    action: str  # added | removed | replaced | may be replaced | updated
    properties: tuple[PropertyChange, ...] = ()
    renamed_to: str | None = None
    retained: bool = False  # removed from the stack but kept in the account (DeletionPolicy Retain)

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL_TYPES

    def as_dict(self) -> dict[str, Any]:
        return {"logical_id": self.logical_id, "name": self.name, "type": self.type, "action": self.action,
                "renamed_to": self.renamed_to, "retained": self.retained, "stateful": self.stateful,
                "properties": [vars(p) for p in self.properties]}


@dataclass(frozen=True, kw_only=True)
class Changes:
    base_ref: str
    base_commit: str
    resources: tuple[ResourceChange, ...] = ()
    permissions_broadened: bool = False
    statements_added: tuple[dict[str, str], ...] = ()
    statements_removed: tuple[dict[str, str], ...] = ()
    contract: ContractChanges = field(default_factory=ContractChanges)
    outputs: tuple[str, ...] = ()
    cdk_diff: str = ""

    @property
    def strict_failures(self) -> list[str]:
        failures = []
        for change in self.resources:
            if change.stateful and change.action in ("removed", "replaced", "may be replaced"):
                how = f"{change.action} (renamed to {change.renamed_to})" if change.renamed_to else change.action
                failures.append(f"{change.name} ({change.type}) would be {how}")
        failures += [f"API contract: {line}" for line in self.contract.breaking]
        return failures

    def as_dict(self) -> dict[str, Any]:
        return {"base_ref": self.base_ref, "base_commit": self.base_commit,
                "permissions_broadened": self.permissions_broadened,
                "statements_added": list(self.statements_added), "statements_removed": list(self.statements_removed),
                "resources": [r.as_dict() for r in self.resources], "contract": self.contract.as_dict(),
                "outputs": list(self.outputs), "strict_failures": self.strict_failures, "cdk_diff": self.cdk_diff}


def run_cfn_diff(old: Template, new: Template, *, tools: Tools) -> dict[str, Any]:
    """The CDK diff engine's verdict on two templates (JSON from cfn_diff.js)."""
    with tempfile.TemporaryDirectory(prefix="review-diff-") as scratch:
        construct_paths = {lid: f"{t.stack_name}/{p}" for t in (old, new) for lid, p in t.paths.items()}
        files = {"old": old.raw, "new": new.raw, "paths": construct_paths}
        paths = []
        for name, content in files.items():
            path = Path(scratch) / f"{name}.json"
            path.write_text(json.dumps(content))
            paths.append(str(path))
        if not tools.node.is_file():
            raise ReviewError(f"{tools.node} is missing: run make setup")
        result = subprocess.run([str(tools.node), str(tools.cfn_diff_script), *paths], env=tools.environment(),
                                cwd=tools.node_bin.parent.parent, capture_output=True, text=True, timeout=300,
                                check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()] or ["no output"]
        raise ReviewError(f"the CDK diff engine failed: {lines[-1].strip()}")
    return dict(json.loads(result.stdout))


def _short(text: str) -> str:
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _around_difference(old: str, new: str) -> tuple[str, str]:
    """Two long texts shown around where they first differ, so the change is visible."""
    if len(old) <= MAX_VALUE and len(new) <= MAX_VALUE:
        return old, new
    same = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    start = max(0, same - MAX_VALUE // 4)

    def window(text: str) -> str:
        shown = text[start:start + MAX_VALUE]
        return ("…" if start else "") + shown + ("…" if start + MAX_VALUE < len(text) else "")

    return window(old), window(new)


_TOKEN = re.compile(r"\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}")


def _named_tokens(text: str, *templates: Template) -> str:
    """`${CustomerBillingQueue5B816E14.Arn}` (as the diff engine renders) -> `${CustomerBilling/Queue}`."""

    def name(match: re.Match[str]) -> str:
        lid, attribute = match.group(1), (match.group(2) or "")
        template = next((t for t in templates if lid in t.resources), None)
        if template is None:
            return match.group(0)
        return "${" + template.name(lid) + ("" if attribute in ("", ".Arn") else attribute) + "}"

    return _TOKEN.sub(name, text)


def _statement(rendered: dict[str, str], old: Template, new: Template) -> dict[str, str]:
    return {key: " ".join(_named_tokens(str(value), new, old).split()) for key, value in rendered.items()}


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def _leaves(path: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """Where two property values differ, down to the leaf (a changed batch size, not the whole mapping)."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict) and not _is_intrinsic(old) and not _is_intrinsic(new):
        found = []
        for key in list(old) + [k for k in new if k not in old]:
            found += _leaves(f"{path}.{key}", old.get(key), new.get(key))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [leaf for i, (a, b) in enumerate(zip(old, new, strict=True)) for leaf in _leaves(f"{path}[{i}]", a, b)]
    return [(path, old, new)]


def _value(template: Template, value: Any, *, references: bool = False) -> str:
    """A value as text; `references`: a list of logical ids (DependsOn) shown by name."""
    if value is None:
        return "(none)"
    if references:
        return _short(", ".join(template.name(str(v)) for v in as_list(value)))
    return _short(template.describe(value))


def _property_changes(name: str, change: dict[str, Any], old: Template, new: Template) -> list[PropertyChange]:
    replaces = change.get("impact") in REPLACEMENTS
    if name in POLICY_PROPERTIES:
        return [PropertyChange(path=name, old="…", new="statements changed (see permissions above)", replaces=replaces)]
    if name == "FilterPolicy":
        shown = [render_filter_policy(v) if v else "(every message)" for v in (change["old"], change["new"])]
        return [PropertyChange(path=name, old=shown[0], new=shown[1], replaces=replaces)]
    found = []
    for path, before, after in _leaves(name, change["old"], change["new"]):
        shown = _around_difference(old.describe(before) if before is not None else "(none)",
                                   new.describe(after) if after is not None else "(none)")
        found.append(PropertyChange(path=path, old=shown[0], new=shown[1], replaces=replaces))
    return found


_HASH_SUFFIX = re.compile(r"[0-9A-F]{8}$")


def _renamed(before: list[str], after: list[str]) -> bool:
    """Construct paths of one resource renamed: one segment differs, and any other differing segment only
    by that rename (and a generated hash suffix), e.g. `SqsEventSource:...ExtraordinaryRidesQueueB7A5DEEA`."""
    if len(before) != len(after) or len(before) < 2:
        return False
    differing = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    if not differing:
        return False
    old, new = differing[0]
    return all(_HASH_SUFFIX.sub("", a).replace(old, new) == _HASH_SUFFIX.sub("", b) for a, b in differing[1:])


def _renames(removed: list[dict[str, Any]], added: list[dict[str, Any]], old: Template,
             new: Template) -> dict[str, str]:
    """Removed logical id -> added logical id of the same type whose construct path is the same but renamed."""
    pairs: dict[str, str] = {}
    for gone in removed:
        before = old.construct_path(gone["logicalId"])
        for came in added:
            if came["logicalId"] in pairs.values() or came["newType"] != gone["oldType"]:
                continue
            if _renamed(before, new.construct_path(came["logicalId"])):
                pairs[gone["logicalId"]] = came["logicalId"]
                break
    return pairs


def interpret_diff(raw: dict[str, Any], *, old: Template, new: Template, base_ref: str, base_commit: str,
                   contract: ContractChanges) -> Changes:
    resources = raw.get("resources", [])
    removed = [r for r in resources if r["isRemoval"]]
    added = [r for r in resources if r["isAddition"]]
    renames = _renames(removed, added, old, new)
    changes: list[ResourceChange] = []
    for resource in resources:
        lid = resource["logicalId"]
        if resource["isAddition"]:
            if lid in renames.values():
                continue
            changes.append(ResourceChange(logical_id=lid, name=new.name(lid), type=resource["newType"], action="added"))
        elif resource["isRemoval"]:
            renamed = renames.get(lid)
            changes.append(ResourceChange(
                logical_id=lid, name=old.name(lid), type=resource["oldType"],
                action="replaced" if renamed else "removed", renamed_to=new.name(renamed) if renamed else None,
                retained=resource.get("impact") == "WILL_ORPHAN"))
        else:
            properties = [p for name, change in resource.get("properties", {}).items()
                          for p in _property_changes(name, change, old, new)]
            properties += [PropertyChange(path=name, old=_value(old, c["old"], references=name == "DependsOn"),
                                          new=_value(new, c["new"], references=name == "DependsOn"))
                           for name, c in resource.get("other", {}).items() if name not in IGNORED_OTHER_CHANGES]
            action = REPLACEMENTS.get(resource.get("impact"), "updated")
            if properties or action != "updated":
                changes.append(ResourceChange(logical_id=lid, name=new.name(lid), type=resource["newType"] or "",
                                              action=action, properties=tuple(properties)))
    order = {"replaced": 0, "may be replaced": 1, "removed": 2, "added": 3, "updated": 4}
    changes.sort(key=lambda c: (order[c.action], not c.stateful, c.name))
    iam = raw.get("iam", {})
    return Changes(base_ref=base_ref, base_commit=base_commit, resources=tuple(changes),
                   permissions_broadened=bool(raw.get("permissionsBroadened")),
                   statements_added=tuple(_statement(s, old, new) for s in iam.get("added", [])),
                   statements_removed=tuple(_statement(s, old, new) for s in iam.get("removed", [])),
                   contract=contract, outputs=tuple(raw.get("outputs", [])), cdk_diff=raw.get("text", ""))
