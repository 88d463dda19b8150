"""Is cdk.out stale? Synth reads app.py, cdk.json, stacks/ and lambdas/: cdk.out is current when its
manifest is newer than every file of those. The local cloud refuses a stale cdk.out; the review
re-synthesizes.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYNTH_INPUTS = ("app.py", "cdk.json", "stacks", "lambdas")


def changed_since_synth(cdk_out: Path, project: Path = ROOT) -> list[Path]:
    """Files synth reads that are newer than cdk.out's manifest; every input if there is no manifest."""
    manifest = cdk_out / "manifest.json"
    written = manifest.stat().st_mtime if manifest.is_file() else float("-inf")
    changed = []
    for name in SYNTH_INPUTS:
        path = project / name
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        changed += [f for f in files if f.is_file() and "__pycache__" not in f.parts and f.stat().st_mtime > written]
    return changed
