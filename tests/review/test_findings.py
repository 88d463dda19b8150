"""Scanner findings: every cdk-nag pack from the validation report, cfn-lint and checkov on the template."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from cloud_assembly import Stack
from review.errors import ReviewError
from review.findings import cdk_nag_reports
from review.report import build_review
from review.scanners import cfn_lint_acknowledgments, load_checkov_skips, run_scanners
from review.template import Template
from review.tools import ROOT, Tools


@pytest.fixture(scope="module")
def default_reports(default_assembly, default_template):
    return cdk_nag_reports(default_template, default_assembly.validation_report) + run_scanners(
        default_template, default_assembly.stack.template_path, project=ROOT, tools=Tools.default())


def test_every_tool_ran_and_every_finding_is_acknowledged_with_a_reason(default_reports):
    assert [r.tool for r in default_reports] == ["cdk-nag AwsSolutions", "cdk-nag Serverless", "cfn-lint", "checkov"]
    for report in default_reports:
        assert report.error is None, report.error
        assert report.unacknowledged == [], [f.as_dict() for f in report.unacknowledged]
        assert report.acknowledged, f"{report.tool} found nothing: is it really scanning?"
        assert all(len(f.reason) > 20 for f in report.acknowledged), report.tool
        assert not report.notes  # no acknowledgment that matches nothing
    [checkov] = [r for r in default_reports if r.tool == "checkov"]
    assert {f.rule for f in checkov.acknowledged} >= {"CKV_AWS_27", "CKV_AWS_116"}
    assert "CustomerNotification/Queue" in {f.resource for f in checkov.findings}  # named as the review names it


def test_cdk_nag_reports_every_pack_and_fails_on_an_unacknowledged_finding(default_template, default_assembly):
    report = copy.deepcopy(default_assembly.validation_report)
    queue_path = next(p for p in default_template.paths.values() if p == "CustomerNotification/Queue/Resource")
    [serverless] = [r for r in report["pluginReports"] if r["pluginName"] == "Serverless"]
    serverless.update(conclusion="failure", violations=[
        {"ruleName": "Serverless-SQSRedrivePolicy", "description": "no redrive",
         "violatingConstructs": [{"constructPath": f"{default_template.stack_name}/{queue_path}"}]}])
    reports = cdk_nag_reports(default_template, report)
    assert [r.tool for r in reports] == ["cdk-nag AwsSolutions", "cdk-nag Serverless"]
    [failure] = reports[1].unacknowledged
    assert (failure.rule, failure.resource) == ("Serverless-SQSRedrivePolicy", "CustomerNotification/Queue")
    review = build_review(default_template, validation_report=report, tools=reports)
    assert review.exit_code == 1
    assert review.failures == ["cdk-nag Serverless: 1 unacknowledged finding"]


def test_scanner_findings_nobody_acknowledged_fail_the_review(default_assembly, tmp_path: Path):
    raw = copy.deepcopy(default_assembly.stack.template)
    raw["Resources"]["UploadsBucket"] = {"Type": "AWS::S3::Bucket", "Properties": {}}
    queue = next(lid for lid, r in raw["Resources"].items() if r["Type"] == "AWS::SQS::Queue")
    raw["Resources"][queue]["Properties"]["VisibilityTimeout"] = 99_999  # SQS allows at most 43,200
    path = tmp_path / "careless.template.json"
    path.write_text(json.dumps(raw))
    template = Template(stack=Stack(name=default_assembly.stack.name, template=raw, template_path=path,
                                    paths=default_assembly.stack.paths))
    cfn_lint, checkov = run_scanners(template, path, project=ROOT, tools=Tools.default())
    assert any(f.resource == template.name(queue) and f.rule.startswith("E") for f in cfn_lint.unacknowledged)
    assert {f.resource for f in checkov.unacknowledged} == {"UploadsBucket"}
    review = build_review(template, validation_report=None, tools=[cfn_lint, checkov])
    assert review.exit_code == 1 and [f.split(":")[0] for f in review.failures] == ["cfn-lint", "checkov"]


def test_a_missing_scanner_is_a_failure_not_a_pass(default_template, default_assembly, tmp_path: Path):
    tools = Tools(node_bin=tmp_path, python_bin=tmp_path, checkov=tmp_path / "checkov", cfn_diff_script=tmp_path)
    cfn_lint, checkov = run_scanners(default_template, default_assembly.stack.template_path, project=ROOT,
                                     tools=tools)
    assert cfn_lint.error == f"{tmp_path / 'cfn-lint'} is missing: run make setup"
    assert checkov.error == f"{tmp_path / 'checkov'} is missing: run make setup (creates .venv-checkov)"
    assert cfn_lint.failed and checkov.failed


def test_each_acknowledgment_file_gives_every_entry_a_reason(tmp_path: Path):
    _, accepted = cfn_lint_acknowledgments(ROOT / ".cfnlintrc.yaml")
    assert accepted and all(len(reason) > 20 for reason in accepted.values())
    skips = load_checkov_skips(ROOT / "checkov-skips.yaml")
    assert skips and all(len(s.reason) > 20 for s in skips)
    careless = tmp_path / "checkov-skips.yaml"
    careless.write_text("skips:\n  - check: CKV_AWS_18\n")
    with pytest.raises(ReviewError, match="skip 1 needs a `check` and a `reason`"):
        load_checkov_skips(careless)
