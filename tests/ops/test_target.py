"""Resolving a target: stack name, the local cloud's endpoints file, a deployed stack's outputs."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import boto3
import pytest

from ops.errors import OpsError
from ops.target import aws_target, default_stack_name, local_target


def test_the_stack_name_comes_from_the_environment_then_cdk_json(tmp_path: Path, monkeypatch):
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": {"wildrydes": {"stackName": "FromCdkJson"}}}))
    monkeypatch.delenv("STACK_NAME", raising=False)
    assert default_stack_name(cdk_json) == "FromCdkJson"
    assert default_stack_name(tmp_path / "missing.json") == "WildRydesRideCompletion"
    monkeypatch.setenv("STACK_NAME", "FromEnv")
    assert default_stack_name(cdk_json) == "FromEnv"


def test_no_endpoints_file_means_the_local_cloud_is_not_running(tmp_path: Path):
    with pytest.raises(OpsError, match=r"the local cloud is not running \(no .*endpoints.json\): start it with "
                                       r"`make local`"):
        local_target(tmp_path / "endpoints.json")


def test_an_endpoints_file_left_behind_is_noticed(tmp_path: Path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({"aws_endpoint_url": f"http://127.0.0.1:{port}", "region": "us-east-1",
                                "stack_name": "S", "outputs": {"ApiUrl": "http://127.0.0.1:1/prod/x"}}))
    with pytest.raises(OpsError, match=f"nothing answers at http://127.0.0.1:{port}"):
        local_target(path)
    target = local_target(path, probe=False)
    assert (target.kind, target.stack_name, target.api_url) == ("local", "S", "http://127.0.0.1:1/prod/x")
    path.write_text("{not json")
    with pytest.raises(OpsError, match="cannot read"):
        local_target(path)


def test_a_stack_that_is_not_deployed_is_one_clear_error(aws):
    with pytest.raises(OpsError, match="stack Nope is not deployed in us-east-1: run `make deploy`"):
        aws_target("Nope")


def test_a_deployed_stacks_outputs_come_from_describe_stacks(aws):
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {}}},
                "Outputs": {"ShopQueueUrl": {"Value": {"Ref": "Q"}}, "ApiUrl": {"Value": "https://api/prod/x"}}}
    boto3.client("cloudformation").create_stack(StackName="Shop", TemplateBody=json.dumps(template))
    target = aws_target("Shop")
    assert target.kind == "aws" and target.endpoint_url is None and target.region == "us-east-1"
    assert target.api_url == "https://api/prod/x"
    assert [s.name for s in target.services] == ["Shop"]
    with pytest.raises(OpsError, match="no service Billing in the outputs of Shop \\(services: Shop\\)"):
        target.service("Billing")


def test_no_credentials_and_no_region_are_clear_errors(monkeypatch, tmp_path: Path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance metadata service
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    with pytest.raises(OpsError, match="no AWS credentials"):
        aws_target("Any")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(OpsError, match="no AWS region"):
        aws_target("Any")
