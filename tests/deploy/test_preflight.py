"""Preflight: its checks as plain functions, and `python -m scripts.preflight_command` against the local cloud."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.cloud import LocalCloud, LocalCloudOptions
from ops.deploy_needs import AssemblyError, DeployNeeds, read_needs
from ops.preflight import (
    check_alarm_email,
    check_api_authorization,
    check_api_gateway_role,
    check_bootstrap,
    concurrency_check,
    run_preflight,
)
from ops.preflight_check import Status
from ops.preflight_parameters import missing_parameter_fix, nearest_version
from stacks.config import installed_powertools_version
from tests.conftest import ROOT

STACK = "WildRydesRideCompletion"
PUBLIC_PARAMETER = f"/aws/service/powertools/python/arm64/python3.14/{installed_powertools_version()}"
OWN_PARAMETER = "/wildrydes/test/powertools-layer"


# -- what the synthesized stack needs -------------------------------------------------------------
def test_the_needs_are_read_from_the_synthesized_template(cloud_assembly: Path):
    needs = read_needs(cloud_assembly)
    assert needs.stack_name == STACK
    assert needs.ssm_parameters == {"PowertoolsLayerParameter": PUBLIC_PARAMETER}
    assert needs.bootstrap_parameter == "/cdk-bootstrap/hnb659fds/version"
    assert needs.min_bootstrap_version == 6  # the template's rule refuses 1 to 5
    assert needs.sets_api_gateway_role and needs.logs_api_access
    assert (needs.mapping_concurrency, needs.unbounded_mappings, needs.functions_without_mapping) == (6, 0, 1)
    assert needs.alarm_emails == ()


def test_a_parameter_override_replaces_the_name_checked(cloud_assembly: Path):
    needs = read_needs(cloud_assembly, STACK, {"PowertoolsLayerParameter": OWN_PARAMETER})
    assert needs.ssm_parameters == {"PowertoolsLayerParameter": OWN_PARAMETER}
    assert needs.default_ssm_parameters == {"PowertoolsLayerParameter": PUBLIC_PARAMETER}


@pytest.mark.parametrize(("stack", "overrides", "message"), [
    ("Nope", {}, "no stack 'Nope'"),
    (None, {"Typo": "/x"}, "has no parameter Typo"),
])
def test_a_wrong_stack_or_parameter_is_a_clear_error(cloud_assembly: Path, stack, overrides, message):
    with pytest.raises(AssemblyError, match=message):
        read_needs(cloud_assembly, stack, overrides)


def test_no_synthesized_app_says_what_to_run(tmp_path: Path):
    with pytest.raises(AssemblyError, match="run `make synth`"):
        read_needs(tmp_path)


# -- checks that need no account --------------------------------------------------------------------
@pytest.mark.parametrize(("published", "wanted", "nearest"), [
    (["3.36.0", "3.35.1", "latest"], "3.37.0", "3.36.0"),  # pinned release not published here yet
    (["3.38.0", "3.40.2"], "3.37.0", "3.38.0"),  # only newer ones
    (["3.9.0", "3.10.0"], "3.37.0", "3.10.0"),  # numeric, not text, order
    (["latest"], "3.37.0", None),
    ([], "3.37.0", None),
])
def test_nearest_published_powertools_version(published, wanted, nearest):
    assert nearest_version(published, wanted) == nearest


def needs_with(**changes: Any) -> DeployNeeds:
    base = DeployNeeds(stack_name=STACK, template_file=Path("t.json"), mapping_concurrency=6,
                       functions_without_mapping=1)
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(("limit", "unreserved", "status"), [
    (1000, 1000, Status.PASS), (10, 10, Status.PASS), (10, 5, Status.WARN)])
def test_lambda_concurrency_against_what_the_consumers_and_producer_may_run(limit, unreserved, status):
    check = concurrency_check(limit, unreserved, needs_with())
    assert check.status is status
    assert "7 at once" in check.detail
    if status is Status.WARN:
        assert "throttled" in check.detail and "L-B99A9384" in check.fix


def test_a_mapping_without_maximum_concurrency_is_a_warning():
    assert concurrency_check(1000, 1000, needs_with(unbounded_mappings=1)).status is Status.WARN


def test_an_empty_alarm_email_is_a_loud_warning():
    check = check_alarm_email(needs_with())
    assert check.status is Status.WARN and "NOBODY" in check.detail and "alarmEmail" in check.fix
    assert check_alarm_email(needs_with(alarm_emails=("ops@example.com",))).status is Status.PASS


def test_a_public_api_is_said_in_one_line_and_the_default_is_signed(cloud_assembly: Path):
    needs = read_needs(cloud_assembly)
    assert (needs.public_methods, needs.signed_methods) == (0, 1)
    assert check_api_authorization(needs).status is Status.PASS
    check = check_api_authorization(needs_with(public_methods=1))
    assert check.status is Status.WARN and "PUBLIC" in check.detail and '"iam"' in check.fix


class FakeSsm:
    """What preflight asks SSM where the pinned Powertools parameter is missing."""

    def __init__(self, published: list[str]) -> None:
        self.published = published

    def get_paginator(self, name: str) -> Any:
        published = self.published

        class Pages:
            def paginate(self, Path: str, Recursive: bool) -> list[dict[str, Any]]:
                return [{"Parameters": [{"Name": f"{Path}{v}"} for v in published]}]

        return Pages()


def test_a_missing_powertools_parameter_names_the_nearest_version_and_how_to_pin_it():
    fix = missing_parameter_fix(FakeSsm(["3.36.0", "latest"]), "PowertoolsLayerParameter", PUBLIC_PARAMETER,
                                "me-central-1")
    assert "/aws/service/powertools/python/arm64/python3.14/3.36.0" in fix
    assert "aws-lambda-powertools[parser,tracer]==3.36.0 in requirements.txt" in fix
    assert "POWERTOOLS_PARAMETER=/your/name" in fix


# -- against the local cloud --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cloud(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    local = LocalCloud(LocalCloudOptions(cdk_out=cloud_assembly, api_port=0, aws_port=0,
                                         log_dir=tmp_path_factory.mktemp("logs")))
    local.start()
    yield local
    local.stop()


def account_environment(cloud: LocalCloud) -> dict[str, str]:
    return {**os.environ, "AWS_ENDPOINT_URL": cloud.aws_endpoint_url, "AWS_CA_BUNDLE": cloud.ca_bundle,
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"}


def run_preflight_command(cloud: LocalCloud, cdk_out: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scripts.preflight_command", "--cdk-out", str(cdk_out), *arguments],
                          cwd=ROOT, env=account_environment(cloud), capture_output=True, text=True, timeout=60,
                          check=False)


def session_for(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.aws_endpoint_url)
    monkeypatch.setenv("AWS_CA_BUNDLE", cloud.ca_bundle)
    return boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")


def test_preflight_fails_naming_the_missing_layer_parameter(cloud: LocalCloud, cloud_assembly: Path):
    # Given an account where the public Powertools parameter does not exist (moto holds no /aws/service/)
    # When preflight runs, Then it fails, names the path and the fix, and prints no traceback
    result = run_preflight_command(cloud, cloud_assembly)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"✗ parameter PowertoolsLayerParameter: {PUBLIC_PARAMETER} does not exist in us-east-1" in result.stdout
    assert "fix: " in result.stdout and "POWERTOOLS_PARAMETER=/your/name" in result.stdout
    assert "✓ credentials: account 123456789012 in us-east-1" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_preflight_passes_with_the_parameter_supplied(cloud: LocalCloud, cloud_assembly: Path):
    # Given a bootstrapped account, and the user's own SSM parameter holding a layer ARN, passed as deploy
    # would pass it
    ssm = cloud.clients.client("ssm")
    ssm.put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Type="String", Overwrite=True, Value="30")
    ssm.put_parameter(Name=OWN_PARAMETER, Type="String", Overwrite=True,
                      Value="arn:aws:lambda:us-east-1:123456789012:layer:powertools-stand-in:1")
    result = run_preflight_command(cloud, cloud_assembly, "--parameter", f"PowertoolsLayerParameter={OWN_PARAMETER}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"✓ parameter PowertoolsLayerParameter: {OWN_PARAMETER} = arn:aws:lambda:" in result.stdout
    assert "✓ CDK bootstrap: version 30" in result.stdout
    assert f"✓ stack {STACK}: exists (CREATE_COMPLETE)" in result.stdout
    assert "! alarm email: alarmEmail is empty" in result.stdout
    assert result.stdout.rstrip().endswith("0 failed")


def test_preflight_without_credentials_fails_and_skips_the_account(cloud_assembly: Path, tmp_path: Path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(AWS_REGION="eu-west-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                       AWS_EC2_METADATA_DISABLED="true")
    result = subprocess.run([sys.executable, "-m", "scripts.preflight_command", "--cdk-out", str(cloud_assembly)],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "✗ credentials: no usable AWS credentials" in result.stdout and "AWS_PROFILE" in result.stdout
    assert "- account checks: need credentials" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_preflight_of_a_missing_assembly_is_a_one_line_error(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "scripts.preflight_command", "--cdk-out", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {tmp_path} holds no synthesized app (no manifest.json): "
                                     "run `make synth` first")


def test_an_old_or_missing_bootstrap_fails_unless_bootstrap_runs_next(cloud, cloud_assembly, monkeypatch):
    session = session_for(cloud, monkeypatch)
    newer = dataclasses.replace(read_needs(cloud_assembly), min_bootstrap_version=99)
    check = check_bootstrap(session, newer)
    assert check.status is Status.FAIL and "version 30 is too old" in check.detail and "make bootstrap" in check.fix
    assert check_bootstrap(session, newer, bootstrap_follows=True).status is Status.WARN
    elsewhere = dataclasses.replace(newer, bootstrap_parameter="/cdk-bootstrap/other/version")
    assert "not bootstrapped here" in check_bootstrap(session, elsewhere).detail


def test_an_existing_logging_role_is_required_when_the_stack_leaves_it_alone(cloud, cloud_assembly, monkeypatch):
    session = session_for(cloud, monkeypatch)
    existing = dataclasses.replace(read_needs(cloud_assembly), sets_api_gateway_role=False)
    # Given a fresh account (no role set; the local cloud's own deploy set one, cleared here): the stage
    # would fail to create
    apigateway = cloud.clients.client("apigateway")
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": ""}])
    check = check_api_gateway_role(session, existing)
    assert check.status is Status.FAIL and "CloudWatch Logs role ARN must be set" in check.detail
    assert 'apiGatewayCloudWatchRole to "create"' in check.fix
    # Given the organisation set one
    iam = cloud.clients.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "apigateway.amazonaws.com"}}]}
    role = iam.create_role(RoleName="OrgApiGatewayLogs", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    apigateway.update_account(patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": role}])
    assert check_api_gateway_role(session, existing).status is Status.PASS
    # and the stack in "create" mode warns that it would replace it, account-wide
    creates = check_api_gateway_role(session, read_needs(cloud_assembly))
    assert creates.status is Status.WARN and "replace it" in creates.detail and '"existing"' in creates.fix
    # and a role that was deleted since is a failure
    iam.delete_role(RoleName="OrgApiGatewayLogs")
    assert "no longer exists" in check_api_gateway_role(session, existing).detail


def test_the_checks_run_in_the_order_a_deploy_meets_them(cloud, cloud_assembly, monkeypatch):
    checks = run_preflight(read_needs(cloud_assembly), session_for(cloud, monkeypatch))
    assert [c.name for c in checks] == [
        "credentials", f"stack {STACK}", "CDK bootstrap", "parameter PowertoolsLayerParameter",
        "API Gateway logging role", "Lambda concurrency", "API authorization", "alarm email"]
    # moto has no Lambda account settings: an honest warning, not a pass
    assert checks[5].status is Status.WARN and "could not read" in checks[5].detail
