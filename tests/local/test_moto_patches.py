"""The local cloud's fixes to moto: each still needed (moto as it ships still does the costly thing), each exact."""

from __future__ import annotations

import copy
import json
import threading

import boto3
import pytest
from moto import backends
from moto.core import responses as core_responses
from moto.dynamodb.responses import DynamoHandler
from moto.moto_api._internal import mock_random
from moto.sqs.models import Message, sqs_backends

from local import moto_patches
from local.dynamodb import transactions
from tests.conftest import REGION

ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def patches_as_they_were():
    """Each test applies or removes the fixes; what runs after this module on the same worker finds them
    as they were before it."""
    was_applied = moto_patches.applied()
    yield
    moto_patches.apply() if was_applied else moto_patches.remove()


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


class VisitCountingList(list):
    """A queue's message list that counts the messages looked at, however it is walked."""

    visited = 0

    def __iter__(self):
        for message in super().__iter__():
            self.visited += 1
            yield message


def counted_queue(sqs, name: str, messages: int) -> tuple[str, VisitCountingList]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for start in range(0, messages, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)}
                                                      for i in range(10)])
    queue = sqs_backends[ACCOUNT][REGION].queues[name]
    queue._messages = VisitCountingList(queue._messages)
    return url, queue._messages


@pytest.mark.parametrize("patched", [False, True], ids=["moto", "patched"])
def test_a_receive_stops_at_the_messages_it_returns(aws, patched):
    moto_patches.apply() if patched else moto_patches.remove()
    try:
        sqs = boto3.client("sqs")
        url, messages = counted_queue(sqs, "deep", 500)
        [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        assert message["Body"] == "0"  # the oldest, as before
        if patched:
            assert messages.visited <= 2
        else:  # if this fails, moto no longer lists every message to return one: drop the lazy receive
            assert messages.visited >= 500
    finally:
        moto_patches.apply()


@pytest.mark.parametrize("patched", [False, True], ids=["moto", "patched"])
def test_a_batch_delete_is_one_pass_and_exact(aws, patched, monkeypatch):
    moto_patches.apply() if patched else moto_patches.remove()
    try:
        sqs = boto3.client("sqs")
        url, _ = counted_queue(sqs, "deletes", 200)
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        looks = {"count": 0}  # a message's receipt handles looked at: once per message per pass over the queue
        handles = Message.all_receipt_handles
        monkeypatch.setattr(Message, "all_receipt_handles", property(
            lambda message: (looks.__setitem__("count", looks["count"] + 1), handles.fget(message))[1]))
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
        response = sqs.delete_message_batch(QueueUrl=url, Entries=[*entries, {"Id": "x", "ReceiptHandle": "nope"}])
        assert sorted(e["Id"] for e in response["Successful"]) == sorted(e["Id"] for e in entries)
        assert [(e["Id"], e["Code"]) for e in response["Failed"]] == [("x", "ReceiptHandleIsInvalid")]
        if patched:
            assert looks["count"] <= 200 + 10
        else:  # if this fails, moto deletes a batch in one pass: drop the batched delete
            assert looks["count"] >= 10 * 190
        assert sqs.delete_message_batch(QueueUrl=url, Entries=entries[:1])["Successful"]  # deleted twice: fine
    finally:
        moto_patches.apply()
    remaining = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert remaining["Attributes"]["ApproximateNumberOfMessages"] == "190"


def test_queue_attributes_are_computed_once_per_call(aws):
    sqs = boto3.client("sqs")
    url, messages = counted_queue(sqs, "attributes", 100)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "VisibilityTimeout"]
    with moto_patches.removed():
        before = messages.visited
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
        unpatched = messages.visited - before
    moto_patches.apply()
    before = messages.visited
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "100", "ApproximateNumberOfMessagesNotVisible": "0",
                          "VisibilityTimeout": "30"}
    assert messages.visited - before <= unpatched / 2  # moto computed everything once per name asked for


def test_receipt_handles_are_drawn_in_one_call_with_the_same_shape(aws, monkeypatch):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="handles")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(4)])
    calls = {"choice": 0}
    original = mock_random.choice
    monkeypatch.setattr(mock_random, "choice", lambda *a: (calls.__setitem__("choice", calls["choice"] + 1),
                                                           original(*a))[1])
    with moto_patches.removed():
        [first] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert calls["choice"] >= 185  # moto draws a handle one letter at a time
    calls["choice"] = 0
    moto_patches.apply()
    handles = [m["ReceiptHandle"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]]
    assert calls["choice"] < 185  # a request id, not a letter per handle letter
    for handle in [first["ReceiptHandle"], *handles]:
        assert len(handle) == 185 and handle.isalpha() and handle.islower()
    assert len(set(handles)) == 3


def test_per_request_lookups_are_computed_once_with_the_same_answers():
    with moto_patches.removed():
        modules = list(backends.list_of_moto_modules())
        names = core_responses.method_names_from_class(DynamoHandler)
        regions = boto3.session.Session().get_available_regions("sqs")
        assert not hasattr(core_responses.method_names_from_class, "cache_info")  # recomputed per request
    moto_patches.apply()
    assert list(backends.list_of_moto_modules()) == modules
    assert core_responses.method_names_from_class(DynamoHandler) == names
    core_responses.method_names_from_class(DynamoHandler)
    assert core_responses.method_names_from_class.cache_info().hits >= 1
    assert boto3.session.Session().get_available_regions("sqs") == regions


class TableCopySpy:
    """Stands in for the `copy` module of moto's DynamoDB models, counting whole tables deep-copied."""

    def __init__(self, real: object) -> None:
        self.real, self.tables = real, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def deepcopy(self, value: object, *args: object) -> object:
        from moto.dynamodb.models.table import Table

        self.tables += isinstance(value, Table)
        return self.real.deepcopy(value, *args)


def ledger_tables() -> object:
    dynamodb = boto3.client("dynamodb")
    for name, key in (("Ledger", "rideId"), ("Accounts", "customer")):
        dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
    return dynamodb


def charge(ride_id: str, amount: str) -> list[dict]:
    """The accounting consumer's transaction, the account's update first (so a cancellation must undo it)."""
    return [{"Update": {"TableName": "Accounts", "Key": {"customer": {"S": "c"}},
                        "UpdateExpression": "ADD balance :a, rides :one",
                        "ExpressionAttributeValues": {":a": {"N": amount}, ":one": {"N": "1"}}}},
            {"Put": {"TableName": "Ledger", "Item": {"rideId": {"S": ride_id}, "amount": {"N": amount}},
                     "ConditionExpression": "attribute_not_exists(rideId)"}}]


def test_moto_still_copies_every_table_a_transaction_touches(aws, monkeypatch):
    from moto.dynamodb import models

    dynamodb = ledger_tables()
    with moto_patches.removed():
        spy = TableCopySpy(models.copy)
        monkeypatch.setattr(models, "copy", spy)
        dynamodb.transact_write_items(TransactItems=charge("r1", "1"))
    # if this fails, moto no longer copies whole tables per transaction: drop local/dynamodb/transactions.py
    assert spy.tables == 2


def test_with_the_fix_a_cancelled_transaction_undoes_exactly_its_own_items(aws, monkeypatch):
    moto_patches.apply()
    dynamodb = ledger_tables()
    dynamodb.transact_write_items(TransactItems=charge("r1", "1.5"))
    for ride in range(20):
        dynamodb.put_item(TableName="Ledger", Item={"rideId": {"S": f"other-{ride}"}})
    spy = TableCopySpy(copy)
    monkeypatch.setattr(transactions, "copy", spy)
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=charge("r1", "100"))  # a redelivery
    assert spy.tables == 0  # the items it touched were copied, never a table
    account = dynamodb.get_item(TableName="Accounts", Key={"customer": {"S": "c"}})["Item"]
    assert (account["balance"]["N"], account["rides"]["N"]) == ("1.5", "1")
    assert dynamodb.scan(TableName="Ledger", Select="COUNT")["Count"] == 21
    threads = [threading.Thread(target=dynamodb.transact_write_items, kwargs={"TransactItems": charge(f"t{i}", "0.1")})
               for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    account = dynamodb.get_item(TableName="Accounts", Key={"customer": {"S": "c"}})["Item"]
    assert (account["balance"]["N"], account["rides"]["N"]) == ("3.5", "21")
