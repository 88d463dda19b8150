"""FIFO as SNS and SQS document it (local/sqs/fifo.py): deduplication for 5 minutes, whether or not the first
copy is still in the queue; a retried group in order; moves (a DLQ redrive) keep the message's group and are
never deduplicated."""

from __future__ import annotations

import json
import random
import threading
import time

import boto3
import pytest

from local.sqs import fifo
from local.sqs.queues import QueueAccess

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)

GROUP = "customer-1"


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(fifo, "window_clock", lambda: now[0])
    return now


@pytest.fixture
def deduplicating(aws, moto_as_the_local_cloud_runs_it, clock):
    fifo.install()
    yield
    fifo.uninstall()


def fifo_queue(name: str = "rides.fifo") -> str:
    return boto3.client("sqs").create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]


def send(url: str, body: str, dedup: str, group: str = GROUP) -> str:
    return boto3.client("sqs").send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group,
                                            MessageDeduplicationId=dedup)["MessageId"]


def take_all(url: str) -> list[dict]:
    """Receive and delete everything there is (what a consumer that processed it does)."""
    sqs, taken = boto3.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          MessageSystemAttributeNames=["All"]).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        taken += messages
    return taken


def test_moto_as_it_ships_delivers_a_duplicate_sent_after_the_first_was_deleted(aws):
    # if this fails, moto now deduplicates as SQS does: drop local/sqs/fifo.py's SQS part
    url = fifo_queue()
    send(url, "ride r-1", "r-1")
    assert len(take_all(url)) == 1
    send(url, "ride r-1", "r-1")
    assert len(take_all(url)) == 1


def test_a_duplicate_within_5_minutes_is_accepted_not_delivered_even_after_the_first_was_deleted(
        deduplicating, clock):
    url = fifo_queue()
    first = send(url, "ride r-1", "r-1")
    assert [m["Body"] for m in take_all(url)] == ["ride r-1"]
    clock[0] += fifo.WINDOW_SECONDS - 1
    assert send(url, "ride r-1 again", "r-1") == first  # accepted, answered with the first message's id
    assert take_all(url) == []
    clock[0] += 1  # 5 minutes after the first: a new message
    assert send(url, "ride r-1 later", "r-1") != first
    assert [m["Body"] for m in take_all(url)] == ["ride r-1 later"]


def test_a_fifo_topic_deduplicates_publishes_within_5_minutes(deduplicating, clock):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="rides.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url = fifo_queue()
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})

    def publish(body: str, dedup: str = "r-1") -> str:
        answer = sns.publish(TopicArn=topic, Message=body, MessageGroupId=GROUP, MessageDeduplicationId=dedup)
        sequences.append(answer["SequenceNumber"])  # a FIFO topic answers the order it took the message in
        return answer["MessageId"]

    sequences: list[str] = []
    first = publish("ride r-1")
    [delivered] = take_all(url)
    assert delivered["Attributes"]["MessageGroupId"] == GROUP
    clock[0] += 60
    assert publish("ride r-1 retried") == first
    assert take_all(url) == []
    publish("ride r-2", "r-2")
    assert sequences[0] == sequences[1] < sequences[2] and len(sequences[2]) == 20


def retry_two_of_one_group(url: str) -> list[str]:
    """a1 and a2 of one group received together and not deleted (a failed batch): when their visibility
    timeout ends together, received again."""
    sqs = boto3.client("sqs")
    send(url, "a1", "a1")
    send(url, "a2", "a2")
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)["Messages"]) == 2
    time.sleep(1.1)
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_moto_as_it_ships_returns_a_retried_group_out_of_order(aws):
    # if this fails, moto now keeps a retried group in order: drop that part of local/sqs/fifo.py
    assert retry_two_of_one_group(fifo_queue()) == ["a2"]


def test_a_retried_group_comes_back_in_order(deduplicating):
    assert retry_two_of_one_group(fifo_queue()) == ["a1", "a2"]


def test_a_redrive_from_a_fifo_dlq_keeps_the_group_and_is_never_deduplicated(deduplicating):
    sqs = boto3.client("sqs")
    source, dlq = fifo_queue("rides.fifo"), fifo_queue("rides-dlq.fifo")
    arn = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]  # noqa: E731
    sqs.set_queue_attributes(QueueUrl=source, Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn(dlq), "maxReceiveCount": 1})})
    send(source, "ride r-1", "r-1")
    sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)  # received once, not deleted
    assert sqs.receive_message(QueueUrl=source).get("Messages", []) == []  # moved to the DLQ on this receive
    # When an operator redrives the DLQ within the 5 minutes of the first send
    sqs.start_message_move_task(SourceArn=arn(dlq), DestinationArn=arn(source))
    # Then the ride is back in its own queue, in its group (a redrive is not a new send)
    [moved] = take_all(source)
    assert moved["Body"] == "ride r-1" and moved["Attributes"]["MessageGroupId"] == GROUP


def consume_in_order(url: str, groups: str, per_group: int, seed: int) -> dict[str, list[int]]:
    """Two consumers take 10-record batches as Lambda does, fail 30% of records (and the rest of that record's
    group in the batch, as a FIFO consumer must), delete the others and return the failed ones after 1 s;
    the order each group's messages were applied in."""
    queue = QueueAccess(boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"], "us-east-1")
    applied: dict[str, list[int]] = {g: [] for g in groups}
    lock, done = threading.Lock(), threading.Event()

    def consume(chance: random.Random) -> None:
        while not done.is_set():
            batch = queue.receive(10)
            failed_groups: set[str] = set()
            failed = []
            for record in batch:
                group = record["attributes"]["MessageGroupId"]
                if group in failed_groups or chance.random() < 0.3:
                    failed_groups.add(group)
                    failed.append(record)
                    continue
                with lock:
                    if int(record["body"][1:]) not in applied[group]:
                        applied[group].append(int(record["body"][1:]))
            if done_records := [r["receiptHandle"] for r in batch if r not in failed]:
                queue.delete(done_records)
            for record in failed:  # one after another: their timeouts end a few milliseconds apart
                queue.change_visibility(record["receiptHandle"], 1)
            time.sleep(0.005)

    consumers = [threading.Thread(target=consume, args=(random.Random(seed + n),)) for n in range(2)]
    for consumer in consumers:
        consumer.start()
    for n in range(per_group):
        for group in groups:
            send(url, f"{group}{n}", f"{group}{n}", group)
    deadline = time.monotonic() + 60
    while sum(map(len, applied.values())) < per_group * len(groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    done.set()
    for consumer in consumers:
        consumer.join()
    return applied


def test_under_retries_from_two_consumers_every_group_is_applied_in_order(deduplicating, monkeypatch):
    monkeypatch.undo()  # the real clock: timeouts that end while a receive looks at the queue
    url = fifo_queue()
    applied = consume_in_order(url, "wxyz", 30, seed=7)
    assert {group: sorted(numbers) for group, numbers in applied.items()} == {g: list(range(30)) for g in "wxyz"}
    assert all(numbers == sorted(numbers) for numbers in applied.values()), applied


@pytest.mark.parametrize("fifo_name", [True, False])
def test_a_long_poll_on_an_empty_queue_holds_up_no_send(deduplicating, fifo_name):
    sqs = boto3.client("sqs")
    empty = fifo_queue("empty.fifo") if fifo_name else sqs.create_queue(QueueName="empty")["QueueUrl"]
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    polled = threading.Event()
    poller = threading.Thread(target=lambda: (sqs.receive_message(QueueUrl=empty, WaitTimeSeconds=2), polled.set()))
    poller.start()
    time.sleep(0.2)  # the long poll is under way
    sqs.send_message(QueueUrl=other, MessageBody="not held up")
    assert not polled.is_set(), "the send waited for the long poll to end"
    poller.join()


def test_a_poller_waits_while_every_visible_message_s_group_is_held_and_wakes_when_it_is_freed(deduplicating):
    # Given a group with one message in flight and the next one visible behind it
    url = fifo_queue()
    send(url, "ride r-1", "r-1")
    send(url, "ride r-2", "r-2")
    access = QueueAccess(boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"], "us-east-1")
    [first] = access.receive(1)
    assert access.receive(10) == []  # the group is held: SQS gives nothing
    # When a poller waits, Then it waits (it used to return at once and spin on empty receives)
    started = time.monotonic()
    access.wait(0.5)
    assert time.monotonic() - started >= 0.45
    # and a delete that frees the group wakes it at once
    threading.Timer(0.1, access.delete, [[first["receiptHandle"]]]).start()
    started = time.monotonic()
    access.wait(5)
    assert time.monotonic() - started < 2
    assert [r["body"] for r in access.receive(10)] == ["ride r-2"]
