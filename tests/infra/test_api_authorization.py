"""Who may submit a ride: the POST is IAM-authorized by default, RideSubmitter grants exactly that method,
and cdk-nag's APIG4 is acknowledged only in the workshop's open mode (apiAuthorization "none")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks.app_factory import build_app
from tests.infra.test_template import resources


def post_method(template_json: dict[str, Any]) -> dict[str, Any]:
    [method] = [m for m in resources(template_json, "AWS::ApiGateway::Method").values()
                if m["Properties"]["HttpMethod"] == "POST"]
    return method["Properties"]


def acknowledged(assembly: Path, rule: str) -> list[str]:
    report = json.loads((assembly / "validation-report.json").read_text())
    return [c["constructPath"] for r in report["pluginReports"] for v in r["suppressedViolations"]
            if v["ruleName"] == rule for c in v["violatingConstructs"]]


def test_the_post_is_iam_authorized_by_default(template_json):
    assert post_method(template_json)["AuthorizationType"] == "AWS_IAM"


def test_ride_submitter_allows_exactly_invoke_on_exactly_the_post(template_json):
    [(policy_id, policy)] = resources(template_json, "AWS::IAM::ManagedPolicy").items()
    assert policy_id.startswith("UnicornManagementRideSubmitter")
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [{
        "Action": "execute-api:Invoke", "Effect": "Allow", "Resource": {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":execute-api:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
            ":", {"Ref": next(iter(resources(template_json, "AWS::ApiGateway::RestApi")))}, "/",
            {"Ref": next(iter(resources(template_json, "AWS::ApiGateway::Stage")))},
            "/POST/submit-ride-completion"]]}}]
    assert "Roles" not in policy["Properties"] and "Users" not in policy["Properties"]  # callers attach it
    assert template_json["Outputs"]["RideSubmitterPolicyArn"]["Value"] == {"Ref": policy_id}


def test_cdk_nag_acknowledges_no_apig4_by_default_and_cog4_with_the_reason(cloud_assembly: Path):
    assert acknowledged(cloud_assembly, "AwsSolutions-APIG4") == []
    report = json.loads((cloud_assembly / "validation-report.json").read_text())
    reasons = [v["reason"] for r in report["pluginReports"] for v in r["suppressedViolations"]
               if v["ruleName"] == "AwsSolutions-COG4"]
    assert reasons and all("SigV4" in reason for reason in reasons)


def test_the_open_mode_is_a_choice_that_cdk_nag_acknowledges(tmp_path: Path):
    app, stack = build_app(overrides={"apiAuthorization": "none"}, outdir=str(tmp_path))
    app.synth()
    template_json = Template.from_stack(stack).to_json()
    assert post_method(template_json)["AuthorizationType"] == "NONE"
    assert resources(template_json, "AWS::IAM::ManagedPolicy") == {}
    assert "RideSubmitterPolicyArn" not in template_json["Outputs"]
    assert acknowledged(tmp_path, "AwsSolutions-APIG4")


@pytest.mark.parametrize("value", ["IAM", "open", True, None])
def test_api_authorization_takes_iam_or_none_only(value):
    from stacks.app_factory import project_context
    from stacks.config import ConfigError, load_settings

    context = {**project_context()["wildrydes"], "apiAuthorization": value}
    with pytest.raises(ConfigError, match=r"apiAuthorization: must be one of iam, none"):
        load_settings(context)
