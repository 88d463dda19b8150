"""SQS message move tasks (local/move_tasks.py) through boto3 against the local cloud's endpoint,
answering as AWS does: errors, default and explicit destinations, pacing, cancellation."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import boto3
import pytest
from botocore.exceptions import ClientError

from local.cloud import LocalCloud
from tests.local.conftest import wait_for


@pytest.fixture(scope="module")
def sqs(cloud: LocalCloud):
    return boto3.client("sqs", endpoint_url=cloud.aws_endpoint_url, region_name="us-east-1", verify=cloud.ca_bundle,
                        aws_access_key_id="local", aws_secret_access_key="local")


def arn(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.fixture
def queues(sqs) -> Callable[..., tuple[str, ...]]:
    """make(sources=1): a DLQ and `sources` queues redriving to it after one receive."""
    def make(sources: int = 1) -> tuple[str, ...]:
        tag = uuid.uuid4().hex[:8]
        dlq = sqs.create_queue(QueueName=f"mt-{tag}-dlq")["QueueUrl"]
        policy = json.dumps({"deadLetterTargetArn": arn(sqs, dlq), "maxReceiveCount": 1})
        made = [sqs.create_queue(QueueName=f"mt-{tag}-src{n}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
                for n in range(sources)]
        return (dlq, *made)
    return make


def dead_letter(sqs, source: str, bodies: list[str], dlq: str) -> set[str]:
    """Send the bodies to a source queue and receive each twice: the redrive policy moves them to the DLQ.
    Returns the ids the messages had."""
    before = depth(sqs, dlq)
    ids = {sqs.send_message(QueueUrl=source, MessageBody=body, MessageAttributes={
        "fare": {"DataType": "Number", "StringValue": "80.0"}})["MessageId"] for body in bodies}
    for _ in range(2 * len(bodies)):
        sqs.receive_message(QueueUrl=source, VisibilityTimeout=0, MaxNumberOfMessages=10)
    wait_for(lambda: depth(sqs, dlq) == before + len(bodies), what="the messages in the DLQ")
    return ids


def depth(sqs, url: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def drain(sqs, url: str) -> list[dict]:
    found: list[dict] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                          MessageAttributeNames=["All"],
                                          MessageSystemAttributeNames=["All"]).get("Messages"):
        found += messages
    return found


def latest(sqs, dlq: str) -> dict:
    return sqs.list_message_move_tasks(SourceArn=arn(sqs, dlq))["Results"][0]


def error_of(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_without_a_destination_each_message_goes_back_to_its_own_source(sqs, queues):
    dlq, first, second = queues(sources=2)
    original_ids = dead_letter(sqs, first, ["a1", "a2"], dlq) | dead_letter(sqs, second, ["b1"], dlq)
    handle = sqs.start_message_move_task(SourceArn=arn(sqs, dlq))["TaskHandle"]
    wait_for(lambda: latest(sqs, dlq)["Status"] == "COMPLETED", what="the task to complete")
    task = latest(sqs, dlq)
    assert (task["ApproximateNumberOfMessagesMoved"], task["ApproximateNumberOfMessagesToMove"]) == (3, 3)
    assert "DestinationArn" not in task and "TaskHandle" not in task and "MaxNumberOfMessagesPerSecond" not in task
    assert handle and depth(sqs, dlq) == 0
    back_first, back_second = drain(sqs, first), drain(sqs, second)
    assert sorted(m["Body"] for m in back_first) == ["a1", "a2"] and [m["Body"] for m in back_second] == ["b1"]
    moved = [*back_first, *back_second]
    assert not {m["MessageId"] for m in moved} & original_ids  # new messages: new ids, received once since
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in moved} == {"1"}
    assert {m["MessageAttributes"]["fare"]["StringValue"] for m in moved} == {"80.0"}


def test_an_explicit_destination_and_a_rate_limit(sqs, queues):
    dlq, source = queues()
    destination = sqs.create_queue(QueueName=f"mt-{uuid.uuid4().hex[:8]}-dest")["QueueUrl"]
    dead_letter(sqs, source, ["m0", "m1", "m2", "m3"], dlq)
    started = time.monotonic()
    sqs.start_message_move_task(SourceArn=arn(sqs, dlq), DestinationArn=arn(sqs, destination),
                                MaxNumberOfMessagesPerSecond=2)
    running = latest(sqs, dlq)
    assert running["Status"] == "RUNNING" and running["TaskHandle"] and running["MaxNumberOfMessagesPerSecond"] == 2
    assert running["DestinationArn"] == arn(sqs, destination)
    wait_for(lambda: latest(sqs, dlq)["Status"] == "COMPLETED", what="the task to complete")
    assert time.monotonic() - started >= 1.4  # 4 messages at 2 a second: the last leaves 1.5 s after the first
    assert sorted(m["Body"] for m in drain(sqs, destination)) == ["m0", "m1", "m2", "m3"]
    assert drain(sqs, source) == []


def test_one_active_task_per_source_and_cancel(sqs, queues):
    dlq, source = queues()
    dead_letter(sqs, source, [f"m{n}" for n in range(20)], dlq)  # 20 s to move at 1 a second
    handle = sqs.start_message_move_task(SourceArn=arn(sqs, dlq), MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    assert error_of(lambda: sqs.start_message_move_task(SourceArn=arn(sqs, dlq))) == (
        "InvalidParameterValue", "There is already a task running. Only one active task is allowed for a source "
                                 "queue arn at a given time.")
    wait_for(lambda: latest(sqs, dlq)["ApproximateNumberOfMessagesMoved"] >= 1, what="a first message moved")
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert moved >= 1
    wait_for(lambda: latest(sqs, dlq)["Status"] == "CANCELLED", what="the task cancelled")
    task = latest(sqs, dlq)
    assert task["ApproximateNumberOfMessagesMoved"] < 20
    assert depth(sqs, dlq) + len(drain(sqs, source)) == 20  # the rest stays in the DLQ; nothing lost
    assert error_of(lambda: sqs.cancel_message_move_task(TaskHandle=handle))[0] == "InvalidParameterValue"
    sqs.start_message_move_task(SourceArn=arn(sqs, dlq))  # a new task may start once the last one is over
    wait_for(lambda: latest(sqs, dlq)["Status"] == "COMPLETED", what="the second task")
    listed = sqs.list_message_move_tasks(SourceArn=arn(sqs, dlq), MaxResults=10)["Results"]
    assert [t["Status"] for t in listed] == ["COMPLETED", "CANCELLED"]  # most recent first


def test_errors_answer_as_aws_does(sqs, queues, cloud: LocalCloud):
    dlq, source = queues()
    plain = sqs.create_queue(QueueName=f"mt-{uuid.uuid4().hex[:8]}-plain")["QueueUrl"]
    not_a_dlq = ("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
    assert error_of(lambda: sqs.start_message_move_task(SourceArn=arn(sqs, plain))) == not_a_dlq
    assert error_of(lambda: sqs.start_message_move_task(SourceArn=arn(sqs, source))) == not_a_dlq
    # The stack's subscription DLQ: its source is an SNS subscription, not an SQS queue.
    subscription_dlq = cloud.outputs["CustomerNotificationSubscriptionDlqUrl"]
    assert error_of(lambda: sqs.start_message_move_task(SourceArn=arn(sqs, subscription_dlq))) == not_a_dlq
    assert error_of(lambda: sqs.start_message_move_task(SourceArn=arn(sqs, dlq) + "-gone")) == (
        "ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
    assert error_of(lambda: sqs.start_message_move_task(SourceArn=arn(sqs, dlq),
                                                        DestinationArn=arn(sqs, plain) + "-gone")) == (
        "ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't exist.")
    code, message = error_of(lambda: sqs.start_message_move_task(SourceArn=arn(sqs, dlq),
                                                                 MaxNumberOfMessagesPerSecond=501))
    assert code == "InvalidParameterValue" and "MaxNumberOfMessagesPerSecond" in message
    assert error_of(lambda: sqs.cancel_message_move_task(TaskHandle="foobared")) == (
        "InvalidParameterValue", "Value for parameter TaskHandle is invalid.")
    assert sqs.list_message_move_tasks(SourceArn=arn(sqs, dlq))["Results"] == []
