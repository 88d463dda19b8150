"""Event source mappings on the local cloud behave as the Lambda API documents, whoever calls it.

The lab's maintenance story with the real AWS CLI (a subscriber disabled, its queue filling, enabled,
drained: nothing lost, nothing dead-lettered); each setting changed at run time and what the pollers then
do; Lambda's own validation errors; a mapping created and deleted through the API; and CloudFormation's
reads of the deployed stack.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.factories import SAMPLE_RIDE
from tests.local.conftest import aws_cli, effect_ids, post_ride, wait_for

ACCOUNTING = "CustomerAccounting"


def ride_message(ride_id: str) -> str:
    return json.dumps({**SAMPLE_RIDE, "id": ride_id})


def depth(cloud, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = cloud.clients.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(found[name]) for name in names)


def state(cloud, mapping_uuid: str) -> str:
    return str(cloud.clients.client("lambda").get_event_source_mapping(UUID=mapping_uuid)["State"])


def update(cloud, **settings) -> None:
    """Change the accounting mapping through the Lambda API, and wait until its pollers have taken it."""
    mapping = cloud.mapping(ACCOUNTING)
    cloud.clients.client("lambda").update_event_source_mapping(UUID=mapping.uuid, **settings)
    wait_for(lambda: state(cloud, mapping.uuid) == "Enabled", timeout=10, what="the change to settle")


def send_rides(cloud, ride_ids: list[str]) -> set[str]:
    """Send rides straight to the accounting queue; the message ids."""
    sqs, url = cloud.clients.client("sqs"), cloud.outputs[f"{ACCOUNTING}QueueUrl"]
    sent: set[str] = set()
    for start in range(0, len(ride_ids), 10):
        answer = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": ride_message(r)}
                                                               for i, r in enumerate(ride_ids[start:start + 10])])
        sent |= {entry["MessageId"] for entry in answer["Successful"]}
    return sent


def invocations_of(cloud, message_ids: set[str]) -> list:
    return [i for i in cloud.snapshot(ACCOUNTING).invocations if set(i.message_ids) & message_ids]


def processed(cloud, ride_ids: list[str]) -> None:
    wait_for(lambda: set(ride_ids) <= effect_ids(cloud, ACCOUNTING), what=f"{len(ride_ids)} rides processed")


def test_a_subscriber_taken_offline_with_the_aws_cli_loses_nothing(local_cloud, capfd):
    # Given the accounting mapping, as the AWS CLI lists it
    function = local_cloud.outputs[f"{ACCOUNTING}FunctionName"]
    [mapping] = aws_cli(local_cloud, "lambda", "list-event-source-mappings",
                        "--function-name", function)["EventSourceMappings"]
    assert mapping["State"] == "Enabled"
    # When an operator disables it, as the workshop's maintenance story does
    answer = aws_cli(local_cloud, "lambda", "update-event-source-mapping", "--uuid", mapping["UUID"], "--no-enabled")
    assert answer["State"] in ("Disabling", "Disabled")
    wait_for(lambda: state(local_cloud, mapping["UUID"]) == "Disabled", timeout=5, what="Disabled")
    # Then rides keep arriving in its queue and wait there, while the other services process them
    ride_ids = [post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"] for _ in range(20)]
    wait_for(lambda: set(ride_ids) <= effect_ids(local_cloud, "CustomerNotification"), what="the other services")
    time.sleep(0.5)  # a poller that still ran would have taken some by now
    assert depth(local_cloud, local_cloud.outputs[f"{ACCOUNTING}QueueUrl"]) == 20
    assert not set(ride_ids) & effect_ids(local_cloud, ACCOUNTING)
    # When it is enabled again
    answer = aws_cli(local_cloud, "lambda", "update-event-source-mapping", "--uuid", mapping["UUID"], "--enabled")
    assert answer["State"] in ("Enabling", "Enabled")
    # Then the queue drains: every ride processed, each received once, none dead-lettered
    processed(local_cloud, ride_ids)
    assert state(local_cloud, mapping["UUID"]) == "Enabled"
    seen = local_cloud.snapshot(ACCOUNTING)
    ours = {m for m, r in seen.message_rides.items() if r in ride_ids}
    assert len(ours) == 20 and all(seen.received[m] == 1 for m in ours)
    wait_for(lambda: depth(local_cloud, local_cloud.outputs[f"{ACCOUNTING}QueueUrl"]) == 0, what="an empty queue")
    assert depth(local_cloud, local_cloud.outputs[f"{ACCOUNTING}DlqUrl"]) == 0
    # and moto's own (Docker) trigger never ran
    assert "docker" not in "".join(capfd.readouterr()).lower()


def test_a_new_batch_size_applies_to_the_next_batches(local_cloud):
    # Given rides waiting while the mapping is disabled, and a batch size of 3 set meanwhile
    local_cloud.pause(ACCOUNTING)
    local_cloud.clients.client("lambda").update_event_source_mapping(UUID=local_cloud.mapping(ACCOUNTING).uuid,
                                                                    BatchSize=3)
    ride_ids = [f"batch-{uuid.uuid4()}" for _ in range(9)]
    message_ids = send_rides(local_cloud, ride_ids)
    # When it is enabled
    local_cloud.resume(ACCOUNTING)
    processed(local_cloud, ride_ids)
    # Then every batch held exactly 3 of them (the deployed batch size was 10)
    assert sorted(len(i.message_ids) for i in invocations_of(local_cloud, message_ids)) == [3, 3, 3]
    update(local_cloud, BatchSize=10)


def test_a_new_batching_window_applies_to_the_next_batches(local_cloud):
    # Given a window of 2 s: a lone ride waits for the window to close before it is invoked
    update(local_cloud, MaximumBatchingWindowInSeconds=2)
    [lone] = send_rides(local_cloud, [ride := f"window-{uuid.uuid4()}"])
    sent = time.monotonic()  # CLOCK_MONOTONIC: the same clock in the local cloud's processes
    processed(local_cloud, [ride])
    [invocation] = invocations_of(local_cloud, {lone})
    assert invocation.started - sent >= 1.5
    # When the window is 0, a lone ride is invoked at once
    update(local_cloud, MaximumBatchingWindowInSeconds=0)
    [quick] = send_rides(local_cloud, [ride := f"window-{uuid.uuid4()}"])
    sent = time.monotonic()
    processed(local_cloud, [ride])
    [invocation] = invocations_of(local_cloud, {quick})
    assert invocation.started - sent < 1.0
    update(local_cloud, MaximumBatchingWindowInSeconds=1)


def peak_concurrency(invocations: list) -> int:
    events = sorted([(i.started, 1) for i in invocations] + [(i.ended, -1) for i in invocations])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_a_new_maximum_concurrency_starts_or_parks_workers(local_cloud):
    # When the maximum goes from 2 to 4, a backlog is worked by four workers, never more at once
    update(local_cloud, ScalingConfig={"MaximumConcurrency": 4})
    ride_ids = [f"scale-{uuid.uuid4()}" for _ in range(200)]
    message_ids = send_rides(local_cloud, ride_ids)
    processed(local_cloud, ride_ids)
    ours = invocations_of(local_cloud, message_ids)
    assert {i.worker for i in ours} == {1, 2, 3, 4}
    assert peak_concurrency(ours) <= 4
    # When it goes back to 2, workers 3 and 4 take no more batches
    update(local_cloud, ScalingConfig={"MaximumConcurrency": 2})
    ride_ids = [f"scale-{uuid.uuid4()}" for _ in range(100)]
    message_ids = send_rides(local_cloud, ride_ids)
    processed(local_cloud, ride_ids)
    ours = invocations_of(local_cloud, message_ids)
    assert {i.worker for i in ours} == {1, 2} and peak_concurrency(ours) <= 2


@pytest.mark.parametrize(("settings", "code", "fragment"), [
    ({"ScalingConfig": {"MaximumConcurrency": 1}}, "ValidationException", "between 2 and 1000"),
    ({"BatchSize": 50, "MaximumBatchingWindowInSeconds": 0}, "InvalidParameterValueException",
     "must be greater than 0 if maximum batch size is greater than 10"),
    ({"BatchSize": 10_001}, "InvalidParameterValueException", "exceeds the max of 10000"),
    ({"MaximumBatchingWindowInSeconds": 301}, "ValidationException", "less than or equal to 300"),
])
def test_settings_lambda_refuses_are_refused_with_its_errors(local_cloud, settings, code, fragment):
    mapping = local_cloud.mapping(ACCOUNTING)
    # botocore checks some limits itself; other SDKs do not, so the server must
    unchecked = local_cloud.clients.session.client("lambda", endpoint_url=local_cloud.aws_endpoint_url,
                                                   verify=local_cloud.ca_bundle,
                                                   config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as refused:
        unchecked.update_event_source_mapping(UUID=mapping.uuid, **settings)
    assert refused.value.response["Error"]["Code"] == code
    assert fragment in refused.value.response["Error"]["Message"]
    answer = local_cloud.clients.client("lambda").get_event_source_mapping(UUID=mapping.uuid)
    assert (answer["BatchSize"], answer["ScalingConfig"]) == (10, {"MaximumConcurrency": 2})  # unchanged


def test_an_unknown_mapping_is_not_found(local_cloud):
    lambda_client = local_cloud.clients.client("lambda")
    for call in (lambda: lambda_client.update_event_source_mapping(UUID=str(uuid.uuid4()), Enabled=False),
                 lambda: lambda_client.delete_event_source_mapping(UUID=str(uuid.uuid4()))):
        with pytest.raises(ClientError) as missing:
            call()
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_mapping_created_through_the_api_polls_and_stops_when_deleted(local_cloud):
    # Given a new queue mapped to the notification consumer at run time
    sqs, lambda_client = local_cloud.clients.client("sqs"), local_cloud.clients.client("lambda")
    url = sqs.create_queue(QueueName=f"extra-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    function = local_cloud.outputs["CustomerNotificationFunctionName"]
    mapping = {"EventSourceArn": arn, "FunctionName": function, "BatchSize": 1,
               "ScalingConfig": {"MaximumConcurrency": 2}}
    # Lambda refuses it while the function's role may not poll that queue (as on AWS)
    with pytest.raises(ClientError, match="does not have permissions to call ReceiveMessage on SQS") as refused:
        lambda_client.create_event_source_mapping(**mapping)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    iam = local_cloud.clients.client("iam")
    role = lambda_client.get_function_configuration(FunctionName=function)["Role"].rsplit("/", 1)[-1]
    iam.put_role_policy(RoleName=role, PolicyName="extra-queue", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": arn, "Action": [
            "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]}]}))
    created = lambda_client.create_event_source_mapping(**mapping)
    assert created["State"] in ("Creating", "Enabling", "Enabled")
    # When a ride arrives there, the consumer processes it
    sqs.send_message(QueueUrl=url, MessageBody=ride_message(first := f"extra-{uuid.uuid4()}"))
    wait_for(lambda: first in effect_ids(local_cloud, "CustomerNotification"), what="the ride from the new queue")
    # When the mapping is deleted, the queue is no longer polled
    assert lambda_client.delete_event_source_mapping(UUID=created["UUID"])["State"] == "Deleting"
    with pytest.raises(ClientError):
        lambda_client.get_event_source_mapping(UUID=created["UUID"])
    sqs.send_message(QueueUrl=url, MessageBody=ride_message(second := f"extra-{uuid.uuid4()}"))
    time.sleep(1.0)
    assert depth(local_cloud, url) == 1 and second not in effect_ids(local_cloud, "CustomerNotification")
    iam.delete_role_policy(RoleName=role, PolicyName="extra-queue")


def test_cloudformation_reads_of_the_stack_answer_with_the_aws_cli(local_cloud, template_json):
    name = local_cloud.deployment.stack_name
    events = aws_cli(local_cloud, "cloudformation", "describe-stack-events", "--stack-name", name)["StackEvents"]
    resources = template_json["Resources"]
    assert len(events) == 2 * len(resources) + 2  # over several pages, which the CLI follows
    assert (events[0]["LogicalResourceId"], events[0]["ResourceStatus"]) == (name, "CREATE_COMPLETE")
    assert {e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "CREATE_COMPLETE"} == {*resources, name}
    body = aws_cli(local_cloud, "cloudformation", "get-template", "--stack-name", name)["TemplateBody"]
    assert body == template_json
    queue_id = next(k for k, v in local_cloud.deployment.physical_ids.items()
                    if v == local_cloud.outputs[f"{ACCOUNTING}QueueUrl"])
    detail = aws_cli(local_cloud, "cloudformation", "describe-stack-resource", "--stack-name", name,
                     "--logical-resource-id", queue_id)["StackResourceDetail"]
    assert (detail["ResourceType"], detail["PhysicalResourceId"]) == ("AWS::SQS::Queue",
                                                                       local_cloud.outputs[f"{ACCOUNTING}QueueUrl"])
    # (a table name: the CLI v1 would fetch a URL given as a parameter)
    listed = aws_cli(local_cloud, "cloudformation", "describe-stack-resources", "--physical-resource-id",
                     local_cloud.outputs[f"{ACCOUNTING}TableName"])["StackResources"]
    assert {r["LogicalResourceId"] for r in listed} == set(resources)
    with pytest.raises(AssertionError, match="does not exist"):
        aws_cli(local_cloud, "cloudformation", "describe-stack-resource", "--stack-name", name,
                "--logical-resource-id", "NoSuchResource")
