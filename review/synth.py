"""Synthesizing a project with the CDK CLI, or reusing its cdk.out when nothing synth reads changed since.

cdk.out is current when its manifest is newer than everything synth reads (cloud_assembly/staleness.py,
the same check the local cloud makes). A synth that cdk-nag stops still writes the
template and the validation report: the review goes on with them and reports the findings.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cloud_assembly import changed_since_synth
from review.errors import ReviewError
from review.tools import Tools

SYNTH_TIMEOUT_SECONDS = 600
CDK_FLAGS = ("--no-notices", "--no-version-reporting")


@dataclass(frozen=True, kw_only=True)
class Synth:
    directory: Path
    ran: bool  # False: an up-to-date cdk.out was reused
    validation_failed: bool = False  # cdk-nag stopped synth; the template and the report were still written
    seconds: float = 0.0


def _synth_problem(output: str) -> str:
    """The app's own error (with its indented detail lines) as one line, else the last line of output."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().lower().startswith("error:")), None)
    if start is None:
        shown = [line.strip() for line in lines if line.strip()]
        return shown[-1] if shown else "no output"
    parts = [lines[start].strip()[len("error:"):].strip()]
    for line in lines[start + 1:]:
        if not line.strip() or not line[:1].isspace():
            break
        parts.append(line.strip())
    return " ".join(parts)


def _validation_failed(outdir: Path) -> bool:
    report = outdir / "validation-report.json"
    if not report.is_file() or not (outdir / "manifest.json").is_file():
        return False
    try:
        plugins = json.loads(report.read_text()).get("pluginReports", [])
    except ValueError:
        return False
    return any(plugin.get("violations") for plugin in plugins)


def run_synth(project: Path, outdir: Path, *, tools: Tools, label: str = "synth") -> Synth:
    """`cdk synth` in `project` into `outdir` with this checkout's tools; ReviewError with its reason if it fails."""
    if not tools.cdk.is_file():
        raise ReviewError(f"{tools.cdk} is missing: run make setup")
    started = time.monotonic()
    for stale in ("manifest.json", "validation-report.json"):  # so a failed synth cannot pass for a fresh one
        (outdir / stale).unlink(missing_ok=True)
    try:
        result = subprocess.run([str(tools.cdk), "synth", "--quiet", *CDK_FLAGS, "--output", str(outdir.resolve())],
                                cwd=project, env=tools.environment(), capture_output=True, text=True,
                                timeout=SYNTH_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as error:
        raise ReviewError(f"{label} did not finish within {SYNTH_TIMEOUT_SECONDS} s") from error
    seconds = time.monotonic() - started
    if result.returncode == 0:
        return Synth(directory=outdir, ran=True, seconds=seconds)
    if _validation_failed(outdir):
        return Synth(directory=outdir, ran=True, validation_failed=True, seconds=seconds)
    raise ReviewError(f"{label} failed: {_synth_problem(result.stderr + result.stdout)}")


def ensure_synth(project: Path, cdk_out: Path, *, tools: Tools) -> Synth:
    """Reuse cdk.out if it is newer than everything synth reads, else synthesize into it."""
    if (cdk_out / "manifest.json").is_file() and not changed_since_synth(cdk_out, project):
        return Synth(directory=cdk_out, ran=False, validation_failed=_validation_failed(cdk_out))
    return run_synth(project, cdk_out, tools=tools)
