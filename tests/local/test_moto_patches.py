"""The local cloud's one fix to moto: still needed, and exact where counts are read."""

from __future__ import annotations

import boto3
from moto.sqs.models import sqs_backends

from local import moto_patches
from tests.conftest import REGION

ACCOUNT = "123456789012"


class ScanCountingList(list):
    """A queue's message list that counts full scans of itself."""

    scans = 0

    def __iter__(self):
        self.scans += 1
        return super().__iter__()


def watched_queue(name: str) -> ScanCountingList:
    queue = sqs_backends[ACCOUNT][REGION].queues[name]
    queue._messages = ScanCountingList(queue._messages)
    return queue._messages


def test_moto_still_scans_the_queue_to_send_a_message(aws):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    messages = watched_queue("q")
    with moto_patches.removed():
        sqs.send_message(QueueUrl=url, MessageBody="x")
    # if this fails, moto no longer scans the queue to send: delete local/moto_patches.py
    assert messages.scans >= 3


def test_with_the_fix_a_send_does_not_scan_and_counts_stay_exact(aws):
    moto_patches.apply()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for start in range(0, 30, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"}
                                                      for i in range(10)])
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
    messages = watched_queue("q")
    sqs.send_message(QueueUrl=url, MessageBody="one more")
    assert messages.scans == 0
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "21", "10")


def test_with_the_fix_content_based_deduplication_still_works(aws):
    moto_patches.apply()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true",
                                                            "ContentBasedDeduplication": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"
