"""`wildrydes permissions --target aws`: IAM's last-accessed data per role of the stack, and what it cannot tell."""

from __future__ import annotations

import datetime as dt

import boto3
from botocore.stub import Stubber

from ops.permissions import AWS_NOTE, permissions
from ops.target import Target

JOB = "0e6e0e4c-6b8b-4c1e-9d2c-2d7e2f1c8a10"
ROLE = "arn:aws:iam::123456789012:role/WildRydes-ConsumerRole"


def test_each_role_reports_the_services_it_used_and_those_it_never_did(monkeypatch):
    monkeypatch.setattr("ops.permissions.POLL_SECONDS", 0.01)
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    target = Target(kind="aws", stack_name="WildRydes", region="us-east-1", outputs={}, session=session)
    cloudformation, iam = target.client("cloudformation"), target.client("iam")
    with Stubber(cloudformation) as cfn, Stubber(iam) as stub:
        cfn.add_response("list_stack_resources", {"StackResourceSummaries": [
            {"LogicalResourceId": "ConsumerRole", "PhysicalResourceId": "WildRydes-ConsumerRole",
             "ResourceType": "AWS::IAM::Role", "LastUpdatedTimestamp": dt.datetime(2026, 1, 1),
             "ResourceStatus": "CREATE_COMPLETE"},
            {"LogicalResourceId": "Queue", "PhysicalResourceId": "https://sqs/q", "ResourceType": "AWS::SQS::Queue",
             "LastUpdatedTimestamp": dt.datetime(2026, 1, 1), "ResourceStatus": "CREATE_COMPLETE"}]},
            {"StackName": "WildRydes"})
        stub.add_response("get_role", {"Role": {"Path": "/", "RoleName": "WildRydes-ConsumerRole", "RoleId": "A" * 16,
                                                "Arn": ROLE, "CreateDate": dt.datetime(2026, 1, 1)}})
        stub.add_response("generate_service_last_accessed_details", {"JobId": JOB}, {"Arn": ROLE})
        stub.add_response("get_service_last_accessed_details", {
            "JobStatus": "IN_PROGRESS", "JobCreationDate": dt.datetime(2026, 1, 1),
            "JobCompletionDate": dt.datetime(2026, 1, 1), "ServicesLastAccessed": []},
            {"JobId": JOB})
        stub.add_response("get_service_last_accessed_details", {
            "JobStatus": "COMPLETED", "JobCreationDate": dt.datetime(2026, 1, 1),
            "JobCompletionDate": dt.datetime(2026, 1, 1), "ServicesLastAccessed": [
                {"ServiceName": "Amazon SQS", "ServiceNamespace": "sqs",
                 "LastAuthenticated": dt.datetime(2026, 12, 1), "TotalAuthenticatedEntities": 1},
                {"ServiceName": "AWS X-Ray", "ServiceNamespace": "xray", "TotalAuthenticatedEntities": 0}]},
            {"JobId": JOB})
        found = permissions(target)
    assert [(r["principal"], r["action"]) for r in found.used] == [(ROLE, "sqs:*")]
    assert [(r["principal"], r["action"]) for r in found.unused] == [(ROLE, "xray:*")]
    assert found.denied == [] and found.note == AWS_NOTE and found.enforced is None
