"""Reading what `cdk synth` wrote: the stack templates and their file assets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# What synth reads: a change to any of these after synth makes cdk.out stale.
SYNTH_INPUTS = ("app.py", "cdk.json", "stacks", "lambdas")


class AssemblyError(RuntimeError):
    """cdk.out is missing, unreadable or stale; the message says what to run."""


@dataclass(frozen=True)
class FileAsset:
    asset_hash: str
    source: Path  # a directory (zip packaging) or a file
    packaging: str
    bucket: str  # may hold ${AWS::AccountId} / ${AWS::Region}
    key: str


@dataclass(frozen=True)
class StackArtifact:
    name: str
    template: dict[str, Any]
    assets: tuple[FileAsset, ...]

    def asset_for_key(self, key: str) -> FileAsset | None:
        return next((a for a in self.assets if a.key == key), None)


def load_stacks(cdk_out: Path) -> list[StackArtifact]:
    manifest_path = cdk_out / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(f"{cdk_out} has no manifest.json: run `make synth` first")
    manifest = json.loads(manifest_path.read_text())
    stacks = []
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text())
        assets: list[FileAsset] = []
        for dependency in artifact.get("dependencies", []):
            dep = manifest["artifacts"].get(dependency, {})
            if dep.get("type") != "cdk:asset-manifest":
                continue
            asset_manifest = json.loads((cdk_out / dep["properties"]["file"]).read_text())
            for asset_hash, entry in asset_manifest.get("files", {}).items():
                for destination in entry["destinations"].values():
                    assets.append(FileAsset(asset_hash, cdk_out / entry["source"]["path"],
                                            entry["source"].get("packaging", "file"),
                                            destination["bucketName"], destination["objectKey"]))
        stacks.append(StackArtifact(name=artifact.get("displayName", name).split("/")[-1],
                                    template=template, assets=tuple(assets)))
    if not stacks:
        raise AssemblyError(f"{cdk_out} holds no stack: run `make synth`")
    return stacks


def stale_inputs(cdk_out: Path, root: Path = ROOT) -> list[Path]:
    """Source files changed after cdk.out was written (empty: cdk.out is current)."""
    manifest = cdk_out / "manifest.json"
    if not manifest.is_file():
        return []
    written = manifest.stat().st_mtime
    changed = []
    for name in SYNTH_INPUTS:
        path = root / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
        changed += [f for f in files if "__pycache__" not in f.parts and f.stat().st_mtime > written]
    return sorted(changed)
