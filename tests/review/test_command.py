"""The command as `make review` runs it: a short summary and the path, the exit code, the report always written."""

from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from pathlib import Path

import pytest
from aws_cdk import aws_sqs as sqs
from typer.testing import CliRunner

from cloud_assembly import changed_since_synth
from review.errors import ReviewError
from review.run import ReviewOptions, run_review
from review.synth import run_synth
from review.tools import ROOT, Tools
from scripts.review import app
from stacks.app_factory import build_app


def test_a_clean_template_passes_with_a_short_summary_and_the_report_path(cloud_assembly: Path, tmp_path: Path):
    result = CliRunner().invoke(app, ["--cdk-out", str(cloud_assembly), "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    resources = json.loads(next(cloud_assembly.glob("*.template.json")).read_text())["Resources"]
    count = Counter(r["Type"] for r in resources.values())
    assert lines[0] == (f"WildRydesRideCompletion: {len(resources)} resources, 3 message flows, "
                        f"{count['AWS::CloudWatch::Alarm']} alarms, {count['AWS::IAM::Role']} roles")
    assert any(re.fullmatch(r"checkov: 0 unacknowledged, \d+ acknowledged", line) for line in lines), lines
    assert "PASS: no unacknowledged finding" in lines
    assert lines[-1].startswith("wrote ") and lines[-1].endswith("REVIEW.md and review.json")
    assert len(lines) < 12
    review = json.loads((tmp_path / "review.json").read_text())
    assert review["passed"] is True and review["facts"]["synth"] == "reused"
    markdown = (tmp_path / "REVIEW.md").read_text()
    assert markdown.startswith("# Review of `WildRydesRideCompletion`")
    assert "arn:&lt;AWS::Partition>" in markdown and "arn:<AWS" not in markdown  # not swallowed as an HTML tag


def test_an_unacknowledged_finding_fails_and_the_report_is_still_written(cloud_assembly: Path, tmp_path: Path):
    project = tmp_path / "project"  # no checkov-skips.yaml: none of checkov's findings is acknowledged
    project.mkdir()
    result = CliRunner().invoke(app, ["--project", str(project), "--cdk-out", str(cloud_assembly),
                                      "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    review = json.loads((tmp_path / "out" / "review.json").read_text())
    checkov = next(t for t in review["findings"] if t["tool"] == "checkov")
    assert checkov["unacknowledged"] > 20 and checkov["acknowledged"] == 0
    assert f"FAIL checkov: {checkov['unacknowledged']} unacknowledged findings" in result.output
    report = (tmp_path / "out" / "REVIEW.md").read_text()
    assert "**❌ Fails:**" in report and "### ❌ Unacknowledged findings" in report


def test_a_synth_that_cdk_nag_stopped_is_still_reviewed(tmp_path: Path):
    # Given a cdk.out from a synth that cdk-nag stopped (a queue without the secure defaults)
    cdk_out = tmp_path / "cdk.out"
    app_, stack = build_app(outdir=str(cdk_out))
    sqs.Queue(stack, "CarelessQueue")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app_.synth()
    project = tmp_path / "project"
    project.mkdir()
    (project / "checkov-skips.yaml").write_text((ROOT / "checkov-skips.yaml").read_text())
    # When it is reviewed, Then cdk-nag's findings fail the review, naming the resource
    outcome = run_review(ReviewOptions(project=project, cdk_out=cdk_out, output=tmp_path / "out"))
    [nag] = [r for r in outcome.review.tools if r.tool == "cdk-nag AwsSolutions"]
    assert {f.resource for f in nag.unacknowledged} == {"CarelessQueue"}
    assert outcome.review.exit_code == 1 and outcome.review.facts["cdk_nag_stopped_synth"] is True
    assert outcome.markdown_path.is_file()


def test_a_synth_that_fails_for_cdk_nag_is_told_apart_from_one_that_fails(tmp_path: Path):
    # A stand-in for the CDK CLI: writes what a synth stopped by cdk-nag writes, and exits 1
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cdk = bin_dir / "cdk"
    report = {"pluginReports": [{"pluginName": "AwsSolutions", "violations": [{"ruleName": "AwsSolutions-SQS4"}]}]}
    cdk.write_text("#!/bin/sh\nout=\"$6\"\necho '{}' > \"$out/manifest.json\"\n"
                   f"echo '{json.dumps(report)}' > \"$out/validation-report.json\"\n"
                   "echo 'error: cdk-nag findings' >&2\nexit 1\n")
    cdk.chmod(cdk.stat().st_mode | stat.S_IEXEC)
    tools = Tools(node_bin=bin_dir, python_bin=bin_dir, checkov=bin_dir / "checkov", cfn_diff_script=bin_dir)
    outdir = tmp_path / "out"
    outdir.mkdir()
    assert run_synth(tmp_path, outdir, tools=tools).validation_failed is True
    cdk.write_text("#!/bin/sh\necho 'error: invalid settings:' >&2\necho '  - batchSize: 50 is over 10' >&2\nexit 1\n")
    with pytest.raises(ReviewError) as failed:
        run_synth(tmp_path, outdir, tools=tools, label="BASE main synth")
    assert str(failed.value) == "BASE main synth failed: invalid settings: - batchSize: 50 is over 10"


def test_cdk_out_is_reused_only_while_it_is_newer_than_what_synth_reads(tmp_path: Path):
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "stack.py").write_text("x = 1\n")
    cdk_out = tmp_path / "cdk.out"
    cdk_out.mkdir()
    assert [p.name for p in changed_since_synth(cdk_out, tmp_path)] == ["stack.py"]  # no manifest: all
    (cdk_out / "manifest.json").write_text("{}")
    assert changed_since_synth(cdk_out, tmp_path) == []
    later = (cdk_out / "manifest.json").stat().st_mtime + 5
    os.utime(tmp_path / "stacks" / "stack.py", (later, later))
    assert [p.name for p in changed_since_synth(cdk_out, tmp_path)] == ["stack.py"]
