"""The rehearsal's changes to moto (scripts/rehearse_moto.py): each gap is still in moto, and the change
closes it. In-process moto; every case deploys the way `cdk deploy` does, through a change set."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts.rehearse_moto import in_dependency_order, moto_fixes

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:stand-in:1"


def deploy(template: dict[str, Any], parameters: dict[str, str] | None = None, name: str = "fixed") -> dict[str, Any]:
    """Create a stack through a change set, as the CDK CLI does; return the stack as described."""
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    cfn.create_change_set(StackName=name, ChangeSetName=f"{name}-1", ChangeSetType="CREATE",
                          TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
                          Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()])
    cfn.execute_change_set(StackName=name, ChangeSetName=f"{name}-1")
    [stack] = cfn.describe_stacks(StackName=name)["Stacks"]
    return stack


SSM_DEFAULT = {  # a default moto cannot hold, replaced by a parameter it holds
    "Parameters": {"Layer": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/aws/service/x/1.0"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Ref": "Layer"}}}},
    "Outputs": {"Shown": {"Value": {"Ref": "Layer"}}},
}
KEY_TAGS = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {
    "KeyPolicy": {"Version": "2012-10-17", "Statement": []}, "Tags": [{"Key": "project", "Value": "wild-rydes"}]}}}}
API_ORDER = {"Resources": {  # the Deployment comes first in the template, as CDK writes it
    "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
    "Deployment": {"Type": "AWS::ApiGateway::Deployment", "DependsOn": ["Method"],
                   "Properties": {"RestApiId": {"Ref": "Api"}}},
    "Method": {"Type": "AWS::ApiGateway::Method", "Properties": {
        "RestApiId": {"Ref": "Api"}, "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]}, "HttpMethod": "GET",
        "AuthorizationType": "NONE", "Integration": {"Type": "HTTP", "IntegrationHttpMethod": "GET", "Uri": "https://example.com"}}},
}}
ALARM_REFERENCE = {"Resources": {
    "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum", "Period": 60, "Threshold": 0,
        "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold"}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Fn::GetAtt": ["Alarm", "Arn"]}}},
}, "Outputs": {"Topic": {"Value": {"Ref": "Topic"}}}}


@pytest.fixture
def aws_with_layer_parameter():
    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name="/mine/layer", Value=LAYER, Type="String")
        yield


def test_a_given_ssm_parameter_wins_over_a_default_moto_cannot_hold(aws_with_layer_parameter):
    with pytest.raises(Exception, match="NoneType"):  # still in moto: it resolves the default first
        deploy(SSM_DEFAULT, {"Layer": "/mine/layer"}, name="plain")
    with moto_fixes():
        stack = deploy(SSM_DEFAULT, {"Layer": "/mine/layer"})
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"] == [{"OutputKey": "Shown", "OutputValue": LAYER}]


def test_kms_key_tags_from_a_template(aws_with_layer_parameter):
    with pytest.raises(Exception, match="TagKey"):
        deploy(KEY_TAGS, name="plain")
    with moto_fixes():
        assert deploy(KEY_TAGS)["StackStatus"] == "CREATE_COMPLETE"
    [key] = boto3.client("cloudformation", region_name="us-east-1").list_stack_resources(
        StackName="fixed")["StackResourceSummaries"]
    tags = boto3.client("kms", region_name="us-east-1").list_resource_tags(KeyId=key["PhysicalResourceId"])["Tags"]
    assert tags == [{"TagKey": "project", "TagValue": "wild-rydes"}]


def test_a_change_set_adds_resources_in_depends_on_order(aws_with_layer_parameter):
    with pytest.raises(Exception, match="contain any methods"):
        deploy(API_ORDER, name="plain")
    with moto_fixes():
        assert deploy(API_ORDER)["StackStatus"] == "CREATE_COMPLETE"
    order = in_dependency_order(API_ORDER["Resources"], ["Api", "Deployment", "Method"])
    assert order == ["Api", "Method", "Deployment"]


@pytest.mark.filterwarnings("ignore:Tried to parse AWS")
def test_types_moto_does_not_implement_get_stand_ins(aws_with_layer_parameter):
    with pytest.raises(Exception, match="undefined resource Alarm"):
        deploy(ALARM_REFERENCE, name="plain")
    with moto_fixes():
        stack = deploy(ALARM_REFERENCE)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = boto3.client("cloudformation", region_name="us-east-1").list_stack_resources(StackName="fixed")
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResourceSummaries"]}
    assert physical["Alarm"] == "standin:AWS::CloudWatch::Alarm:Alarm"
    assert boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"] == []  # not created


def test_a_stack_made_by_a_change_set_has_its_outputs(aws_with_layer_parameter):
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Arn": {"Value": {"Ref": "Topic"}}}}
    assert "Outputs" not in deploy(template, name="plain")  # still in moto
    with moto_fixes():
        outputs = deploy(template)["Outputs"]
    assert [o["OutputKey"] for o in outputs] == ["Arn"] and outputs[0]["OutputValue"].startswith("arn:aws:sns:")


def test_the_fixes_are_undone_on_exit():
    from moto.cloudformation import parsing
    from moto.cloudformation.models import CloudFormationBackend
    from moto.kms.models import Key

    before = (parsing.ResourceMap.__dict__["load_parameters"], parsing.ResourceMap.__dict__["build_resource_diff"],
              parsing.resource_class_from_type, CloudFormationBackend.__dict__["execute_change_set"],
              Key.__dict__["create_from_cloudformation_json"])
    with moto_fixes():
        assert parsing.resource_class_from_type is not before[2]
    assert (parsing.ResourceMap.__dict__["load_parameters"], parsing.ResourceMap.__dict__["build_resource_diff"],
            parsing.resource_class_from_type, CloudFormationBackend.__dict__["execute_change_set"],
            Key.__dict__["create_from_cloudformation_json"]) == before
