"""The local cloud says no where AWS says no: each grant the template writes, removed at run time, fails the
way AWS would fail it, and nothing is lost once it is back.

One local cloud for the module. Each test takes one statement out of a live policy through the AWS APIs
(IAM, SQS, SNS, KMS, Lambda), exercises the path that needs it, checks AWS's own error (code and sentence),
puts the statement back, and shows the work then completes. Deny statements (TLS only, owner account only)
are shown deciding through the same evaluator on the live policy: the endpoint serves only HTTPS, so a
plain-HTTP request cannot be made to refuse.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.cloud import LocalCloud
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import effect_ids, post_ride, wait_for
from tests.local.policies import (
    Picker,
    actions,
    key_statement_removed,
    queue_statement_removed,
    statement_removed,
    topic_key,
    topic_statement_removed,
)

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)

ACCOUNT = "123456789012"
SERVICES = ("CustomerNotification", "CustomerAccounting", "ExtraordinaryRides")


@pytest.fixture(scope="module")
def cloud(local_cloud: LocalCloud) -> LocalCloud:
    """This module's local cloud (conftest's, one per module)."""
    return local_cloud


# -- reading and changing live policies -------------------------------------------------------------------
def producer(cloud: LocalCloud) -> Any:
    [route] = cloud.deployment.routes
    return route.function


def role_of(cloud: LocalCloud, function_name: str) -> str:
    arn = cloud.clients.client("lambda").get_function_configuration(FunctionName=function_name)["Role"]
    return str(arn.rsplit("/", 1)[-1])


def session_arn(cloud: LocalCloud, function_name: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_of(cloud, function_name)}/{function_name}"


def log_of(cloud: LocalCloud, logical_id: str) -> str:
    path = cloud.options.log_dir / f"{logical_id}.log"
    return path.read_text() if path.exists() else ""


def role_statement_removed(cloud: LocalCloud, function_name: str, wanted: Picker) -> Any:
    """The function's role's default policy without the statement `wanted` picks."""
    iam, role = cloud.clients.client("iam"), role_of(cloud, function_name)
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return statement_removed(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"], lambda d: (
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(d))), wanted)


def submit(cloud: LocalCloud, key: str) -> tuple[int, dict[str, Any]]:
    """POST the sample ride with an Idempotency-Key, as a client that retries would."""
    return post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE, {"Idempotency-Key": key})


def everywhere(cloud: LocalCloud, ride_id: str) -> None:
    wait_for(lambda: all(ride_id in effect_ids(cloud, s) for s in SERVICES), what="the ride in every service")


# -- the unmodified template ------------------------------------------------------------------------------
def test_the_stack_as_deployed_is_never_refused(cloud):
    # Given rides through the API and every service
    ride_ids = [post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"] for _ in range(5)]
    for ride_id in ride_ids:
        everywhere(cloud, ride_id)
    # Then the record holds decisions for the stack's principals, and not one refusal
    permissions = cloud.permissions()
    assert permissions["enforced"] is True and permissions["denied"] == []
    used = {(row["principal"], row["action"]) for row in permissions["used"]}
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{{}}".format
    assert (role_arn(role_of(cloud, producer(cloud).name)), "sns:Publish") in used
    assert (role_arn(role_of(cloud, cloud.outputs["CustomerAccountingFunctionName"])), "dynamodb:PutItem") in used
    assert {row["principal"] for row in permissions["used"]} >= {"sns.amazonaws.com"}  # the deliveries


# -- the producer's role -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("grant", "action", "code"), [
    ("dynamodb:PutItem", "dynamodb:PutItem", "AccessDeniedException"),
    ("sns:Publish", "SNS:Publish", "AuthorizationError"),
    ("kms:GenerateDataKey*", "kms:GenerateDataKey", "KMSAccessDenied"),
])
def test_a_producer_grant_removed_fails_the_request_and_a_retry_succeeds_once_restored(cloud, grant, action, code):
    function = producer(cloud)
    key = str(uuid.uuid4())
    with role_statement_removed(cloud, function.name, lambda s: grant in actions(s)):
        # When a ride is posted, Then the client never gets a 201, and the function's log has AWS's error
        status, answer = submit(cloud, key)
        assert status == 503, answer
        sentence = f"User: {session_arn(cloud, function.name)} is not authorized to perform: {action}"
        wait_for(lambda: sentence in log_of(cloud, function.logical_id) and code in log_of(cloud, function.logical_id),
                 timeout=5, what=f"{code} in the producer's log")
        assert "because no identity-based policy allows" in log_of(cloud, function.logical_id)
    # When the grant is back, the client's retry is accepted and the ride reaches every service
    status, answer = submit(cloud, key)
    assert status == 201, answer
    everywhere(cloud, answer["id"])


def test_the_topic_keys_root_delegation_removed_stops_publishing(cloud):
    function, topic = producer(cloud), cloud.outputs["RideCompletionTopicArn"]
    key = str(uuid.uuid4())
    # the account keeps administering the key (a key policy must, or AWS refuses it), but no longer delegates
    # its use to IAM policies: the producer's own grant of kms:GenerateDataKey* then counts for nothing
    administer = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Resource": "*",
                  "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:PutKeyPolicy"]}
    with key_statement_removed(cloud, topic_key(cloud, topic), lambda s: s.get("Principal", {}).get("AWS", "")
                               .endswith(":root"), instead=administer):
        assert submit(cloud, key)[0] == 503
        wait_for(lambda: "because no resource-based policy allows the kms:GenerateDataKey action"
                 in log_of(cloud, function.logical_id), timeout=5, what="the key policy's refusal")
    status, answer = submit(cloud, key)
    assert status == 201
    everywhere(cloud, answer["id"])


# -- a consumer's role ---------------------------------------------------------------------------------------
def test_a_consumer_that_may_not_receive_is_not_polled_and_its_rides_wait(cloud):
    function = cloud.outputs["CustomerAccountingFunctionName"]
    with role_statement_removed(cloud, function, lambda s: "sqs:ReceiveMessage" in actions(s)):
        ride_id = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"]
        wait_for(lambda: ride_id in effect_ids(cloud, "CustomerNotification"), what="the other services")
        wait_for(lambda: any("not polling its queue" in p and "sqs:ReceiveMessage" in p and
                             "because no identity-based policy allows" in p for p in cloud.errors),
                 timeout=5, what="the line that says why")
        assert ride_id not in effect_ids(cloud, "CustomerAccounting")
    everywhere(cloud, ride_id)


def test_a_consumer_that_may_not_write_fails_its_records_and_processes_them_once_restored(cloud):
    function = cloud.outputs["CustomerAccountingFunctionName"]
    logical_id = cloud.mapping("CustomerAccounting").function.logical_id
    with role_statement_removed(cloud, function, lambda s: "dynamodb:PutItem" in actions(s)):
        ride_id = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"]
        sentence = (f"User: {session_arn(cloud, function)} is not authorized to perform: dynamodb:PutItem on resource: "
                    f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{cloud.outputs['CustomerAccountingTableName']} "
                    "because no identity-based policy allows the dynamodb:PutItem action")
        wait_for(lambda: sentence in log_of(cloud, logical_id), timeout=10, what="AccessDeniedException in its log")
    everywhere(cloud, ride_id)  # retried after the visibility timeout, before maxReceiveCount


# -- queue and topic policies: the service hops ---------------------------------------------------------------
def test_a_queue_that_refuses_sns_gets_nothing_and_its_subscription_dlq_keeps_the_ride(cloud):
    service = "ExtraordinaryRides"
    sqs, dlq = cloud.clients.client("sqs"), cloud.outputs[f"{service}SubscriptionDlqUrl"]
    with queue_statement_removed(cloud, cloud.outputs[f"{service}QueueUrl"],
                                 lambda s: s.get("Principal") == {"Service": "sns.amazonaws.com"}):
        status, answer = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)
        assert status == 201  # published: the delivery fails, not the publish
        ride_id = answer["id"]
        wait_for(lambda: ride_id in effect_ids(cloud, "CustomerNotification"), what="the other services")

        def dead_letters() -> list[dict[str, Any]]:
            found = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                        MessageAttributeNames=["All"]).get("Messages", [])
            return [m for m in found if ride_id in m["Body"]]

        [letter] = wait_for(dead_letters, timeout=5, what="the ride in the subscription DLQ")
        assert letter["MessageAttributes"]["ErrorCode"]["StringValue"] == "AccessDenied"
        assert ride_id not in effect_ids(cloud, service)
    # When the policy is back and the DLQ redriven, the ride is processed: nothing was lost
    from ops.dlq import redrive
    from ops.target import target_from_endpoints

    target = target_from_endpoints(cloud.endpoints())
    [result] = [r for r in redrive(target, [target.service(service)]) if r.kind == "subscription"]
    assert result.status == "COMPLETED" and result.moved >= 1
    wait_for(lambda: ride_id in effect_ids(cloud, service), what="the redriven ride processed")


def decide(cloud: LocalCloud, **asked: Any) -> dict[str, Any]:
    return dict(cloud._control("POST", "authorize", asked))


def test_the_tls_only_statements_refuse_plain_http_on_every_queue_and_topic(cloud):
    sqs = cloud.clients.client("sqs")
    queues = [sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
              for key, url in cloud.outputs.items() if key.endswith(("QueueUrl", "DlqUrl"))]
    assert len(queues) == 9
    for arn in queues:
        plain = decide(cloud, action="sqs:SendMessage", resource=arn, context={"aws:SecureTransport": "false"})
        assert plain["kind"] == "explicit_deny"
        assert "with an explicit deny in a resource-based policy" in plain["message"]
        assert decide(cloud, action="sqs:SendMessage", resource=arn, context={"aws:SecureTransport": "true"})["allowed"]
    for topic in (cloud.outputs["RideCompletionTopicArn"], cloud.outputs["AlarmTopicArn"]):
        assert decide(cloud, action="sns:Publish", resource=topic,
                      context={"aws:SecureTransport": "false"})["kind"] == "explicit_deny"
        with topic_statement_removed(cloud, topic, lambda s: "aws:SecureTransport" in json.dumps(s)):
            assert decide(cloud, action="sns:Publish", resource=topic,
                          context={"aws:SecureTransport": "false"})["allowed"]


def test_the_ride_topic_refuses_other_accounts_by_its_owner_statement(cloud):
    topic = cloud.outputs["RideCompletionTopicArn"]
    other = decide(cloud, action="sns:Publish", resource=topic, principal={"account": "999999999999"},
                   context={"aws:SecureTransport": "true"})
    assert other["kind"] == "explicit_deny" and other["statement"].endswith("#OwnerAccountOnly")
    with topic_statement_removed(cloud, topic, lambda s: s.get("Sid") == "OwnerAccountOnly"):
        other = decide(cloud, action="sns:Publish", resource=topic, principal={"account": "999999999999"},
                       context={"aws:SecureTransport": "true"})
        assert other["kind"] == "implicit_deny"  # no allow for it either: across accounts both sides must allow


def test_cloudwatch_may_notify_the_alarm_topic_through_its_policy_and_its_key(cloud):
    topic = cloud.outputs["AlarmTopicArn"]
    alarm = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:any"
    key = topic_key(cloud, topic)
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}"
    assert decide(cloud, service="cloudwatch.amazonaws.com", action="sns:Publish", resource=topic, source_arn=alarm)[
        "allowed"]
    assert decide(cloud, service="cloudwatch.amazonaws.com", action="kms:GenerateDataKey", resource=key_arn,
                  source_arn=alarm)["allowed"]
    with topic_statement_removed(cloud, topic, lambda s: s.get("Sid") == "AllowCloudWatchAlarms"):
        assert not decide(cloud, service="cloudwatch.amazonaws.com", action="sns:Publish", resource=topic,
                          source_arn=alarm)["allowed"]
    with key_statement_removed(cloud, key, lambda s: s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}):
        refused = decide(cloud, service="cloudwatch.amazonaws.com", action="kms:GenerateDataKey", resource=key_arn,
                         source_arn=alarm)
        assert not refused["allowed"] and "no resource-based policy allows" in refused["message"]
    # and another account's alarm may not use them (aws:SourceAccount)
    foreign = "arn:aws:cloudwatch:us-east-1:999999999999:alarm:any"
    assert not decide(cloud, service="cloudwatch.amazonaws.com", action="sns:Publish", resource=topic,
                      source_arn=foreign)["allowed"]


# -- the Lambda permission and the execution role's trust ------------------------------------------------------
def test_api_gateway_without_its_lambda_permission_answers_500(cloud):
    function, lambda_client = producer(cloud), cloud.clients.client("lambda")
    policy = json.loads(lambda_client.get_policy(FunctionName=function.name)["Policy"])
    [statement] = [s for s in policy["Statement"] if "/prod/" in json.dumps(s)]
    lambda_client.remove_permission(FunctionName=function.name, StatementId=statement["Sid"])
    try:
        time.sleep(1.1)  # API Gateway's answer is remembered for a second
        assert post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE) == (500, {"message": "Internal server error"})
        assert "Invalid permissions on Lambda function" in (cloud.options.log_dir / "api.log").read_text()
    finally:
        condition = statement["Condition"]["ArnLike"]
        lambda_client.add_permission(FunctionName=function.name, StatementId=statement["Sid"],
                                     Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
                                     SourceArn=next(iter(condition.values())))
    time.sleep(1.1)
    assert post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)[0] == 201


def test_a_role_lambda_may_not_assume_leaves_new_environments_without_credentials(cloud):
    function, iam = cloud.outputs["CustomerNotificationFunctionName"], cloud.clients.client("iam")
    role = role_of(cloud, function)
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "ec2.amazonaws.com"}}]}
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(other))
    try:
        cloud.kill_environments("CustomerNotification")
        ride_id = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"]
        wait_for(lambda: any("Lambda cannot assume its role" in p for p in cloud.errors), timeout=10,
                 what="the line that says why")
        assert ride_id not in effect_ids(cloud, "CustomerNotification")
    finally:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))
    cloud.kill_environments("CustomerNotification")  # the next cold start assumes the role again
    wait_for(lambda: ride_id in effect_ids(cloud, "CustomerNotification"), what="the ride processed")


# -- a function's own credentials ------------------------------------------------------------------------------
def test_a_consumers_credentials_may_do_what_its_role_allows_and_nothing_more(cloud):
    import boto3

    function = cloud.outputs["CustomerAccountingFunctionName"]
    credentials = cloud._control("POST", f"function-credentials/{function}")
    session = boto3.session.Session(aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                                    aws_session_token=credentials["AWS_SESSION_TOKEN"], region_name="us-east-1")

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=cloud.aws_endpoint_url, verify=cloud.ca_bundle)

    table = cloud.outputs["CustomerAccountingTableName"]
    client("dynamodb").put_item(TableName=table, Item={"rideId": {"S": f"own-{uuid.uuid4()}"}})  # its grant
    refused = [
        (lambda: client("dynamodb").delete_item(TableName=table, Key={"rideId": {"S": "x"}}), "AccessDeniedException"),
        (lambda: client("dynamodb").scan(TableName=table), "AccessDeniedException"),
        (lambda: client("sqs").send_message(QueueUrl=cloud.outputs["CustomerAccountingQueueUrl"], MessageBody="x"),
         "AccessDenied"),
        (lambda: client("sns").publish(TopicArn=cloud.outputs["RideCompletionTopicArn"], Message="x"),
         "AuthorizationError"),
        (lambda: client("iam").list_roles(), "AccessDenied"),
    ]
    for call, code in refused:
        with pytest.raises(ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == code
        assert f"assumed-role/{role_of(cloud, function)}/{function} is not authorized" in denied.value.response[
            "Error"]["Message"]
    # a wrong secret or token is refused as AWS refuses it, not taken for the account
    forged = boto3.session.Session(aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong",
                                   aws_session_token=credentials["AWS_SESSION_TOKEN"], region_name="us-east-1")
    with pytest.raises(ClientError) as denied:
        forged.client("dynamodb", endpoint_url=cloud.aws_endpoint_url, verify=cloud.ca_bundle).put_item(
            TableName=table, Item={"rideId": {"S": "forged"}})
    assert denied.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_the_account_root_may_not_assume_a_role(cloud):
    role = role_of(cloud, cloud.outputs["CustomerAccountingFunctionName"])
    with pytest.raises(ClientError, match="Roles may not be assumed by root accounts"):
        cloud.clients.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                                RoleSessionName="root-session")


# -- bad policies ------------------------------------------------------------------------------------------------
def test_bad_policy_documents_get_each_services_error_and_change_nothing(cloud):
    iam, sqs, sns, kms = (cloud.clients.client(n) for n in ("iam", "sqs", "sns", "kms"))
    role = role_of(cloud, cloud.outputs["CustomerAccountingFunctionName"])
    huge = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                     "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{'q' * 11_000}"}]}
    topic, queue = cloud.outputs["RideCompletionTopicArn"], cloud.outputs["CustomerAccountingQueueUrl"]
    cases = [
        (lambda: iam.put_role_policy(RoleName=role, PolicyName="bad", PolicyDocument="{not json"),
         "MalformedPolicyDocument"),
        (lambda: iam.put_role_policy(RoleName=role, PolicyName="bad", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Action": "s3:*", "Resource": "*"}]})), "MalformedPolicyDocument"),
        (lambda: iam.put_role_policy(RoleName=role, PolicyName="big", PolicyDocument=json.dumps(huge)),
         "LimitExceeded"),
        (lambda: sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": '{"Version": "1999-01-01"}'}),
         "InvalidAttributeValue"),
        (lambda: sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue="[]"),
         "InvalidParameter"),
        (lambda: kms.put_key_policy(KeyId=topic_key(cloud, topic), PolicyName="default", Policy="{}"),
         "MalformedPolicyDocumentException"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == code, refused.value.response
    assert "bad" not in iam.list_role_policies(RoleName=role)["PolicyNames"]
    # and the stack still works
    ride_id = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"]
    everywhere(cloud, ride_id)


# -- the record: `wildrydes permissions` ----------------------------------------------------------------------
def test_wildrydes_permissions_lists_refusals_uses_and_unused_grants(cloud, tmp_path):
    from typer.testing import CliRunner

    from scripts.wildrydes import app

    # Given one refusal: the accounting consumer's session scans its table (its role grants no Scan)
    function = cloud.outputs["CustomerAccountingFunctionName"]
    credentials = cloud._control("POST", f"function-credentials/{function}")
    import boto3

    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=cloud.aws_endpoint_url,
                            verify=cloud.ca_bundle, aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                            aws_session_token=credentials["AWS_SESSION_TOKEN"])
    with pytest.raises(ClientError):
        dynamodb.scan(TableName=cloud.outputs["CustomerAccountingTableName"])
    endpoints = tmp_path / "endpoints.json"
    cloud.write_endpoints(endpoints)
    # When the record is read as JSON
    result = CliRunner().invoke(app, ["permissions", "--target", "local", "--endpoints", str(endpoints), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    # Then the refusal is listed for the role, the stack's uses are listed, and so are the grants nobody used
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role_of(cloud, function)}"
    assert {(d["principal"], d["action"]) for d in record["denied"]} >= {(role_arn, "dynamodb:Scan")}
    assert all({"principal", "action", "resource"} <= set(row) for key in ("denied", "used", "unused")
               for row in record[key])
    assert any(row["principal"] == role_arn and row["action"] == "sqs:ReceiveMessage" for row in record["used"])
    assert record["unused"], "some grant of the stack is never exercised by rides alone (e.g. the DLQ's)"
    # And the table names them too
    table = CliRunner().invoke(app, ["permissions", "--target", "local", "--endpoints", str(endpoints)])
    assert table.exit_code == 0 and "denied" in table.output and "dynamodb:Scan" in table.output


# -- the limits the template sets -----------------------------------------------------------------------------
def test_reserved_concurrency_0_throttles_the_producer_and_holds_a_consumers_rides(cloud):
    lambda_client = cloud.clients.client("lambda")
    producer_name, consumer = producer(cloud).name, cloud.outputs["CustomerAccountingFunctionName"]
    lambda_client.put_function_concurrency(FunctionName=producer_name, ReservedConcurrentExecutions=0)
    try:
        time.sleep(1.1)  # API Gateway's view of the function is a second old at most
        assert post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE) == (500, {"message": "Internal server error"})
    finally:
        lambda_client.delete_function_concurrency(FunctionName=producer_name)
    time.sleep(1.1)
    lambda_client.put_function_concurrency(FunctionName=consumer, ReservedConcurrentExecutions=0)
    try:
        ride_id = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"]
        wait_for(lambda: ride_id in effect_ids(cloud, "CustomerNotification"), what="the other services")
        time.sleep(0.5)
        assert ride_id not in effect_ids(cloud, "CustomerAccounting")
    finally:
        lambda_client.delete_function_concurrency(FunctionName=consumer)
    everywhere(cloud, ride_id)
    # and the account keeps its 100 unreserved, as Lambda requires
    with pytest.raises(ClientError, match="below its minimum value of \\[100\\]"):
        lambda_client.put_function_concurrency(FunctionName=consumer, ReservedConcurrentExecutions=950)
