"""The local cloud's one fix to moto: still needed, and exact where counts are read."""

from __future__ import annotations

import json
import threading

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
        sent_scans = messages.scans
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    # if these fail, moto no longer scans the queue per attribute: drop that part of local/moto_patches.py
    assert sent_scans >= 3
    assert messages.scans - sent_scans >= 4  # the receive: its own scan, and three per message returned


def test_with_the_fix_a_send_does_not_scan_and_counts_stay_exact(aws):
    moto_patches.apply()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for start in range(0, 30, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"}
                                                      for i in range(10)])
    messages = watched_queue("q")
    sqs.send_message(QueueUrl=url, MessageBody="one more")
    assert messages.scans == 0
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert messages.scans == 1  # the receive's own pass over the queue, whatever the batch size
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "21", "10")  # 31 sent, 10 received


def test_with_the_fix_content_based_deduplication_still_works(aws):
    moto_patches.apply()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true",
                                                            "ContentBasedDeduplication": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_with_the_fix_concurrent_consumers_get_each_message_exactly_once(aws):
    # Given a queue with a DLQ, 400 messages, and four consumers receiving and deleting at once
    moto_patches.apply()
    sqs = boto3.client("sqs")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="dlq")["QueueUrl"],
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="q", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})})["QueueUrl"]
    for start in range(0, 400, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)}
                                                      for i in range(10)])
    received: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            with lock:
                received.extend(m["Body"] for m in messages)
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                            for i, m in enumerate(messages)])

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then every message was delivered once: none twice, none stranded invisible
    assert sorted(received, key=int) == [str(i) for i in range(400)]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
