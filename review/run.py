"""One review run: synthesize (or reuse cdk.out), scan, compare with BASE, write REVIEW.md and review.json.

The slow parts run side by side: BASE's worktree synth and contract export start first, while HEAD is
synthesized (if stale) and the scanners run; only the CDK diff waits for both templates.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloud_assembly import load_assembly
from review.base import resolve_ref, worktree
from review.changes import Changes, interpret_diff, run_cfn_diff
from review.contract import compare_contracts, read_contract
from review.findings import cdk_nag_reports
from review.markdown import render_markdown
from review.report import Review, build_review
from review.scanners import run_scanners
from review.synth import ensure_synth, run_synth
from review.template import Template
from review.tools import ROOT, Tools

REVIEW_DIR = "review"


@dataclass(frozen=True, kw_only=True)
class ReviewOptions:
    project: Path = ROOT
    cdk_out: Path | None = None  # default: <project>/cdk.out
    output: Path | None = None  # default: <cdk_out>/review
    base: str | None = None
    strict: bool = False
    tools: Tools = field(default_factory=Tools.default)

    @property
    def cdk_out_dir(self) -> Path:
        return self.cdk_out or self.project / "cdk.out"


@dataclass(frozen=True, kw_only=True)
class Outcome:
    review: Review
    markdown_path: Path
    json_path: Path


@dataclass(frozen=True, kw_only=True)
class _BaseSide:
    template: Template
    contract: dict[str, Any] | None
    contract_note: str
    seconds: float


def _base_side(project: Path, ref: str, commit: str, tools: Tools) -> _BaseSide:
    started = time.monotonic()
    with worktree(project, commit) as checkout:
        run_synth(checkout, checkout / "cdk.out", tools=tools, label=f"BASE {ref} ({commit[:12]}) synth")
        template = Template(stack=load_assembly(checkout / "cdk.out").stack)
        contract, note = read_contract(checkout, python=tools.python_bin / "python")
    return _BaseSide(template=template, contract=contract, contract_note=note, seconds=time.monotonic() - started)


def run_review(options: ReviewOptions) -> Outcome:
    started = time.monotonic()
    project, cdk_out, tools = options.project.resolve(), options.cdk_out_dir, options.tools
    commit = resolve_ref(project, options.base) if options.base else None
    facts: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        base_future = pool.submit(_base_side, project, options.base or "", commit, tools) if commit else None
        head_contract = pool.submit(read_contract, project, python=tools.python_bin / "python") if commit else None
        synth = ensure_synth(project, cdk_out, tools=tools)
        facts |= {"synth": "ran" if synth.ran else "reused", "synth_seconds": round(synth.seconds, 1),
                  "cdk_nag_stopped_synth": synth.validation_failed}
        scan_started = time.monotonic()
        assembly = load_assembly(cdk_out)
        template = Template(stack=assembly.stack)
        reports = cdk_nag_reports(template, assembly.validation_report) + run_scanners(
            template, assembly.stack.template_path, project=project, tools=tools)
        facts["scan_seconds"] = round(time.monotonic() - scan_started, 1)
        changes: Changes | None = None
        if base_future and head_contract and commit:
            base = base_future.result()
            new_contract, new_note = head_contract.result()
            facts["base_seconds"] = round(base.seconds, 1)
            contract = compare_contracts(base.contract, new_contract, note=base.contract_note or new_note)
            changes = interpret_diff(run_cfn_diff(base.template, template, tools=tools), old=base.template,
                                     new=template, base_ref=options.base or commit, base_commit=commit,
                                     contract=contract)
    facts["total_seconds"] = round(time.monotonic() - started, 1)
    review = build_review(template, validation_report=assembly.validation_report, tools=reports, changes=changes,
                          strict=options.strict, facts=facts)
    output = options.output or cdk_out / REVIEW_DIR
    output.mkdir(parents=True, exist_ok=True)
    markdown_path, json_path = output / "REVIEW.md", output / "review.json"
    markdown_path.write_text(render_markdown(review))
    json_path.write_text(json.dumps(review.as_dict(), indent=2, default=str) + "\n")
    return Outcome(review=review, markdown_path=markdown_path, json_path=json_path)
