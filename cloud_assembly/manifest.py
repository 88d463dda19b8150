"""Reading cdk.out's manifest: each stack's template, its file assets, the construct path of every logical
id, the bootstrap version it needs, and cdk-nag's validation report.

The construct paths come from the stack's metadata (`aws:cdk:logicalId` entries), which synth writes
whether or not the template carries `aws:cdk:path` metadata, so tests and the CDK CLI read the same. The
format is the CDK's cloud assembly schema (`manifest.json`, `*.assets.json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VALIDATION_REPORT = "validation-report.json"


class AssemblyError(RuntimeError):
    """cdk.out is missing, unreadable or holds no such stack; the message says what to run."""


@dataclass(frozen=True)
class FileAsset:
    asset_hash: str
    source: Path  # a directory (zip packaging) or a file
    packaging: str
    bucket: str  # may hold ${AWS::AccountId} / ${AWS::Region}
    key: str


@dataclass(frozen=True, kw_only=True)
class Stack:
    name: str
    template: dict[str, Any]
    template_path: Path
    # logical id -> construct path below the stack, e.g. "CustomerNotification/Queue/Resource"
    paths: dict[str, str] = field(default_factory=dict)
    assets: tuple[FileAsset, ...] = ()
    requires_bootstrap_version: int = 0  # the highest the stack and its asset manifests ask for

    def asset_for_key(self, key: str) -> FileAsset | None:
        return next((a for a in self.assets if a.key == key), None)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template.get("Resources", {}))


@dataclass(frozen=True, kw_only=True)
class Assembly:
    directory: Path
    stacks: tuple[Stack, ...]
    validation_report: dict[str, Any] | None  # None: synth ran no validation plugin

    @property
    def stack(self) -> Stack:
        """The one stack this app synthesizes (the first, if there are several)."""
        return self.stacks[0]

    def find(self, name: str | None) -> Stack:
        """The stack of that name (the first when None); AssemblyError naming the ones there are."""
        for stack in self.stacks:
            if name in (None, stack.name):
                return stack
        held = ", ".join(s.name for s in self.stacks)
        raise AssemblyError(f"no stack {name!r} in {self.directory} (it holds {held}): synthesize it with the "
                            "same STACK_NAME")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise AssemblyError(f"cannot read {path}: {error}") from error


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


def _assets(directory: Path, manifest: dict[str, Any], artifact: dict[str, Any]) -> tuple[list[FileAsset], int]:
    """The stack's file assets, and the bootstrap version its asset manifests require."""
    assets: list[FileAsset] = []
    version = 0
    for dependency in artifact.get("dependencies", []):
        dep = manifest["artifacts"].get(dependency, {})
        if dep.get("type") != "cdk:asset-manifest":
            continue
        version = max(version, int(dep.get("properties", {}).get("requiresBootstrapStackVersion", 0)))
        asset_manifest = _read_json(directory / dep["properties"]["file"])
        for asset_hash, entry in asset_manifest.get("files", {}).items():
            for destination in entry["destinations"].values():
                assets.append(FileAsset(asset_hash, directory / entry["source"]["path"],
                                        entry["source"].get("packaging", "file"), destination["bucketName"],
                                        destination["objectKey"]))
    return assets, version


def load_assembly(directory: Path) -> Assembly:
    """The stacks synth wrote to `directory` (a cdk.out), with assets, construct paths and cdk-nag's report."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(f"{directory} holds no synthesized app (no manifest.json): run `make synth` first")
    manifest = _read_json(manifest_path)
    stacks = []
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        name = artifact.get("displayName", artifact_id).split("/")[-1]
        properties = artifact.get("properties", {})
        template_path = directory / properties["templateFile"]
        assets, asset_version = _assets(directory, manifest, artifact)
        stacks.append(Stack(name=name, template=_read_json(template_path), template_path=template_path,
                            paths=_construct_paths(directory, artifact, name), assets=tuple(assets),
                            requires_bootstrap_version=max(asset_version,
                                                           int(properties.get("requiresBootstrapStackVersion", 0)))))
    if not stacks:
        raise AssemblyError(f"{directory} holds no stack template: run `make synth`")
    report_path = directory / VALIDATION_REPORT
    report = _read_json(report_path) if report_path.is_file() else None
    return Assembly(directory=directory, stacks=tuple(stacks), validation_report=report)
