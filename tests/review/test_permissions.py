"""Permissions read from the template: resolved resources, resource policies, and what gets flagged."""

from __future__ import annotations

import json

from review.permissions import read_permissions
from tests.review.conftest import find


def grants_of(permissions, role_prefix):
    [role] = [r for r in permissions.roles if r.role.startswith(role_prefix)]
    return role


def test_every_role_lists_each_allowed_action_on_the_resource_it_names(default_template, default_assembly):
    permissions = read_permissions(default_template, default_assembly.validation_report)
    assert len(permissions.roles) == len(default_template.of_type("AWS::IAM::Role"))  # the API's logging role too
    producer = grants_of(permissions, "UnicornManagement/SubmitRideCompletion")
    assert producer.used_by == ("UnicornManagement/SubmitRideCompletion",)
    assert producer.trusted == ("service lambda.amazonaws.com",)
    assert producer.managed_policies == ("AWS managed: service-role/AWSLambdaBasicExecutionRole",)
    by_resource = {g.resources: g.actions for g in producer.grants}
    assert by_resource[("UnicornManagement/RidesTable (AWS::DynamoDB::Table)",)] == (
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
    assert by_resource[("RideCompletionTopic (AWS::SNS::Topic)",)] == ("sns:Publish",)
    assert "Fn::GetAtt" not in json.dumps(permissions.as_dict())  # every token resolved to what it names


def test_resource_policies_say_who_may_send_publish_and_decrypt(default_template):
    permissions = read_permissions(default_template)
    policies = {p.resource: p for p in permissions.resource_policies}
    queue = policies["CustomerNotification/Queue"]
    [send] = [g for g in queue.grants if g.effect == "Allow"]
    assert send.principals == ("service sns.amazonaws.com",) and send.actions == ("sqs:SendMessage",)
    assert send.conditions == ("ArnEquals aws:SourceArn = RideCompletionTopic",)
    alarm_key = policies["Monitoring/AlarmTopicKey"]
    assert any(g.principals == ("service cloudwatch.amazonaws.com",) and "kms:Decrypt" in g.actions
               for g in alarm_key.grants)
    assert not [f for p in permissions.resource_policies for g in p.grants for f in g.flags
                if f.text.startswith("principal outside")]


def test_acknowledged_wildcards_carry_the_cdk_nag_reason(default_template, default_assembly):
    permissions = read_permissions(default_template, default_assembly.validation_report)
    producer = grants_of(permissions, "UnicornManagement/SubmitRideCompletion")
    flags = {f.text: f.acknowledged for g in producer.grants for f in g.flags}
    assert flags["Resource: *"].startswith("AwsSolutions-IAM5: X-Ray")
    assert flags["wildcard action kms:GenerateDataKey*"].startswith("AwsSolutions-IAM5: Publishing")


def test_wildcard_action_resource_star_and_outside_principal_are_flagged(edited_template):
    def broaden(resources, original):
        policy = find(original, "AWS::IAM::Policy", "CustomerNotification/Consumer")
        resources[policy]["Properties"]["PolicyDocument"]["Statement"].append(
            {"Action": "s3:*", "Effect": "Allow", "Resource": "*"})
        queue_policy = find(original, "AWS::SQS::QueuePolicy", "CustomerAccounting/Queue/")
        resources[queue_policy]["Properties"]["PolicyDocument"]["Statement"].append(
            {"Action": "sqs:SendMessage", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
             "Resource": {"Fn::GetAtt": [find(original, "AWS::SQS::Queue", "CustomerAccounting/Queue"), "Arn"]}})

    permissions = read_permissions(edited_template(broaden))
    consumer = grants_of(permissions, "CustomerNotification/Consumer")
    [s3] = [g for g in consumer.grants if g.actions == ("s3:*",)]
    assert [f.text for f in s3.flags] == ["wildcard action s3:*", "Resource: *"]
    assert all(f.acknowledged is None for f in s3.flags)
    queue = next(p for p in permissions.resource_policies if p.resource == "CustomerAccounting/Queue")
    [outside] = [f for g in queue.grants for f in g.flags]
    assert outside.text == "principal outside the account: AWS arn:aws:iam::210987654321:root"
