"""Reading a cloud assembly: each stack's template, the construct path of every logical id, cdk-nag's report.

The construct paths come from the stack's metadata (`aws:cdk:logicalId` entries), which synth writes
whether or not the template carries `aws:cdk:path` metadata, so tests and the CDK CLI read the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review.errors import ReviewError

VALIDATION_REPORT = "validation-report.json"


@dataclass(frozen=True, kw_only=True)
class Stack:
    name: str
    template: dict[str, Any]
    template_path: Path
    # logical id -> construct path below the stack, e.g. "CustomerNotification/Queue/Resource"
    paths: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Assembly:
    directory: Path
    stacks: tuple[Stack, ...]
    validation_report: dict[str, Any] | None  # None: synth ran no validation plugin

    @property
    def stack(self) -> Stack:
        """The one stack this app synthesizes (the review covers the first if there are several)."""
        return self.stacks[0]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ReviewError(f"cannot read {path}: {error}") from error


def _construct_paths(directory: Path, artifact: dict[str, Any], stack_name: str) -> dict[str, str]:
    metadata = artifact.get("metadata")
    if metadata is None and artifact.get("additionalMetadataFile"):
        metadata = _read_json(directory / artifact["additionalMetadataFile"])
    paths: dict[str, str] = {}
    prefix = f"/{stack_name}/"
    for path, entries in (metadata or {}).items():
        for entry in entries:
            if entry.get("type") == "aws:cdk:logicalId" and isinstance(entry.get("data"), str):
                paths[entry["data"]] = path.removeprefix(prefix).lstrip("/")
    return paths


def load_assembly(directory: Path) -> Assembly:
    """The stacks synth wrote to `directory` (a cdk.out), with their construct paths and cdk-nag's report."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise ReviewError(f"{directory} has no manifest.json: synthesize first (make synth)")
    manifest = _read_json(manifest_path)
    stacks = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        name = artifact.get("displayName", artifact_id).split("/")[-1]
        template_path = directory / artifact["properties"]["templateFile"]
        stacks.append(Stack(name=name, template=_read_json(template_path), template_path=template_path,
                            paths=_construct_paths(directory, artifact, name)))
    if not stacks:
        raise ReviewError(f"{directory} holds no stack template")
    report_path = directory / VALIDATION_REPORT
    report = _read_json(report_path) if report_path.is_file() else None
    return Assembly(directory=directory, stacks=tuple(stacks), validation_report=report)
