"""Dead-letter logic on moto (in process): looks that consume nothing, a subscription-DLQ redrive that
loses nothing even when interrupted half-way, and the SNS envelope unwrapped."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from ops.dlq import dead_letter, peek, raw_delivery, redrive_queue_dlq, redrive_subscription_dlq
from ops.services import Service
from ops.traffic import ride_attributes, ride_message


@pytest.fixture
def service(aws) -> Service:
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="billing")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="billing-subscription-dlq")["QueueUrl"]
    return Service("Billing", queue_url=queue, subscription_dlq_url=dlq)


def rides(n: int) -> list[dict]:
    return [{"id": f"ride-{i}", "from": "A", "to": "B", "duration": 3, "distance": 30, "customer": "c", "fare": 80}
            for i in range(n)]


def bodies(sqs, url: str) -> list[str]:
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        found += [m["Body"] for m in messages]
    return found


def test_a_look_leaves_every_message_in_place(service: Service):
    sqs = boto3.client("sqs")
    for ride in rides(15):
        sqs.send_message(QueueUrl=service.subscription_dlq_url, MessageBody=ride_message(ride))
    looked = peek(sqs, service.subscription_dlq_url)
    assert len(looked) == 15
    assert len(peek(sqs, service.subscription_dlq_url, limit=4)) == 4
    letter = dead_letter("Billing", "subscription", looked[0])
    assert letter.ride_id.startswith("ride-") and letter.receive_count == 1 and letter.first_failure
    assert len(bodies(sqs, service.subscription_dlq_url)) == 15  # all still there and visible


class InterruptedAfter:
    """An SQS client that dies right after its n-th SendMessageBatch, before the DLQ delete."""

    def __init__(self, sqs, sends: int):
        self.sqs, self.sends = sqs, sends

    def __getattr__(self, name):
        return getattr(self.sqs, name)

    def send_message_batch(self, **kwargs):
        answer = self.sqs.send_message_batch(**kwargs)
        self.sends -= 1
        if self.sends == 0:
            raise KeyboardInterrupt  # as if the operator pressed Ctrl-C between send and delete
        return answer


def test_an_interrupted_subscription_redrive_duplicates_but_never_loses(service: Service):
    sqs = boto3.client("sqs")
    originals = [ride_message(r) for r in rides(25)]
    for body, ride in zip(originals, rides(25), strict=True):
        sqs.send_message(QueueUrl=service.subscription_dlq_url, MessageBody=body,
                         MessageAttributes=ride_attributes(ride))
    with pytest.raises(KeyboardInterrupt):
        redrive_subscription_dlq(InterruptedAfter(sqs, sends=2), service, visibility_seconds=1)
    # Interrupted: 20 sent, the last 10 of them not deleted yet. Once the receive's visibility timeout
    # is over, every ride is somewhere, 10 of them twice.
    time.sleep(1.2)
    in_queue = [m["Body"] for m in peek(sqs, service.queue_url)]
    left = [m["Body"] for m in peek(sqs, service.subscription_dlq_url)]
    assert (len(in_queue), len(left)) == (20, 15)
    assert set(in_queue) | set(left) == set(originals)
    result = redrive_subscription_dlq(sqs, service)  # run again: it finishes the job
    assert (result.status, result.moved) == ("COMPLETED", 15)
    assert bodies(sqs, service.subscription_dlq_url) == []
    final = bodies(sqs, service.queue_url)
    assert set(final) == set(originals) and len(final) == 35  # 10 duplicates, no loss


def test_the_redriven_message_keeps_its_attributes(service: Service):
    sqs = boto3.client("sqs")
    ride = rides(1)[0]
    sqs.send_message(QueueUrl=service.subscription_dlq_url, MessageBody=ride_message(ride),
                     MessageAttributes=ride_attributes(ride))
    assert redrive_subscription_dlq(sqs, service).moved == 1
    [message] = sqs.receive_message(QueueUrl=service.queue_url, MessageAttributeNames=["All"])["Messages"]
    assert message["Body"] == ride_message(ride)
    assert message["MessageAttributes"]["fare"] == {"DataType": "Number", "StringValue": "80.0"}


def test_an_sns_envelope_is_unwrapped_to_what_raw_delivery_would_have_queued():
    envelope = json.dumps({"Type": "Notification", "Message": '{"id":"r1"}',
                           "MessageAttributes": {"fare": {"Type": "Number", "Value": "80.0"}}})
    assert raw_delivery(envelope, {}) == ('{"id":"r1"}', {"fare": {"DataType": "Number", "StringValue": "80.0"}})
    raw = {"fare": {"DataType": "Number", "StringValue": "80.0", "StringListValues": []}}
    assert raw_delivery('{"id":"r1"}', raw) == ('{"id":"r1"}', {"fare": {"DataType": "Number",
                                                                         "StringValue": "80.0"}})


class FakeMoveTasks:
    """SQS answering ListMessageMoveTasks from a script: an older task first (listed late), then ours."""

    def __init__(self, listings: list[list[dict]]):
        self.listings, self.started = listings, []

    def get_queue_attributes(self, QueueUrl, AttributeNames):
        return {"Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:1:{QueueUrl.rsplit('/', 1)[-1]}",
                               "ApproximateNumberOfMessages": "3"}}

    def list_message_move_tasks(self, SourceArn, MaxResults):
        return {"Results": self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]}

    def start_message_move_task(self, **arguments):
        self.started.append(arguments)
        return {"TaskHandle": "ours"}


def test_a_queue_redrive_follows_its_own_task_not_an_older_one():
    now_ms = int(time.time() * 1000)
    old = {"Status": "COMPLETED", "StartedTimestamp": now_ms - 600_000, "ApproximateNumberOfMessagesMoved": 9,
           "ApproximateNumberOfMessagesToMove": 9}
    running = {"Status": "RUNNING", "TaskHandle": "ours", "StartedTimestamp": now_ms,
               "ApproximateNumberOfMessagesMoved": 1, "ApproximateNumberOfMessagesToMove": 3}
    done = {**running, "Status": "COMPLETED", "ApproximateNumberOfMessagesMoved": 3}
    del done["TaskHandle"]
    sqs = FakeMoveTasks([[old], [old], [running], [done]])
    progress = []
    service = Service("Billing", queue_url="https://sqs/1/billing", dlq_url="https://sqs/1/billing-dlq")
    result = redrive_queue_dlq(sqs, service, rate=50, on_progress=lambda m, t: progress.append((m, t)),
                               sleep=lambda _: None)
    assert (result.status, result.moved, result.to_move) == ("COMPLETED", 3, 3)
    assert progress == [(1, 3), (3, 3)]  # never the older task's 9
    assert sqs.started == [{"SourceArn": "arn:aws:sqs:us-east-1:1:billing-dlq",
                            "DestinationArn": "arn:aws:sqs:us-east-1:1:billing", "MaxNumberOfMessagesPerSecond": 50}]
