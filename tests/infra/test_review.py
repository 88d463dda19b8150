"""Automated template review: cdk-nag (AwsSolutions and Serverless) at synth, cfn-lint on what synth wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import aws_sqs as sqs

from stacks.app_factory import build_app
from tests.conftest import ROOT


@pytest.mark.parametrize("pack", ["AwsSolutions", "Serverless"])
def test_synth_passes_both_cdk_nag_packs_with_every_acknowledgment_reasoned(cloud_assembly: Path, pack: str):
    report = json.loads((cloud_assembly / "validation-report.json").read_text())
    [found] = [r for r in report["pluginReports"] if r["pluginName"] == pack]
    assert found["conclusion"] == "success"
    assert found["violations"] == []
    assert found["suppressedViolations"]  # the pack ran and saw what we accept
    for acknowledged in found["suppressedViolations"]:
        assert len(acknowledged["reason"]) > 30, acknowledged["ruleName"]


def test_serverless_acknowledgments_are_the_ones_that_do_not_apply(cloud_assembly: Path):
    # Function DLQs: no function is invoked asynchronously. DLQs need no redrive. SQS event sources
    # take no on-failure destination. Nothing else of the Serverless pack is acknowledged.
    report = json.loads((cloud_assembly / "validation-report.json").read_text())
    [serverless] = [r for r in report["pluginReports"] if r["pluginName"] == "Serverless"]
    acknowledged = {(v["ruleName"], c["constructPath"].split("/", 1)[1]) for v in serverless["suppressedViolations"]
                    for c in v["violatingConstructs"]}
    assert {rule for rule, _ in acknowledged} == {
        "Serverless-LambdaDLQ", "Serverless-SQSRedrivePolicy", "Serverless-LambdaEventSourceMappingDestination"}
    assert all(path.split("/")[1] in ("DeadLetterQueue", "SubscriptionDeadLetterQueue")
               for rule, path in acknowledged if rule == "Serverless-SQSRedrivePolicy")


def test_cdk_nag_fails_synth_on_an_unacknowledged_finding(tmp_path: Path):
    # Given a queue added without the secure defaults (no SSL policy, no DLQ)
    app, stack = build_app(outdir=str(tmp_path))
    sqs.Queue(stack, "CarelessQueue")
    # When the app synthesizes, Then cdk-nag stops it and says which rule and construct
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = {(v["ruleName"], c["constructPath"]) for r in report["pluginReports"]
                  for v in r["violations"] for c in v["violatingConstructs"]}
    assert ("AwsSolutions-SQS4", f"{stack.stack_name}/CarelessQueue/Resource") in violations
    assert ("Serverless-SQSRedrivePolicy", f"{stack.stack_name}/CarelessQueue/Resource") in violations


def test_cfn_lint_finds_nothing_in_the_synthesized_templates(cloud_assembly: Path):
    templates = sorted(str(p) for p in cloud_assembly.glob("*.template.json"))
    assert templates
    cfn_lint = str(Path(sys.executable).parent / "cfn-lint")
    result = subprocess.run([cfn_lint, "--config-file", str(ROOT / ".cfnlintrc.yaml"), *templates],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_requirements_pin_the_powertools_that_the_layer_deploys():
    from stacks.config import installed_powertools_version

    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.startswith("aws-lambda-powertools")]
    assert pins == [f"aws-lambda-powertools[parser,tracer]=={installed_powertools_version()}"]
