"""Subscriber consumers: partial batches, poison records, idempotent effects, failure injection."""

from __future__ import annotations

import importlib
import threading
import time
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from shared.consumer import ConsumerSettings, InjectedFailure, SubscriberConsumer, process_ride
from shared.ride import Ride
from tests.factories import LambdaContext, ride_message, sqs_event, sqs_record

SERVICES = ["customer_notification", "customer_accounting", "extraordinary_rides"]


class MemoryStore:
    """EffectStore in memory: what a unit test needs instead of DynamoDB (atomic, as a conditional put is)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def put_once(self, item: dict[str, Any]) -> bool:
        with self.lock:
            if item["rideId"] in self.items:
                return False
            self.items[item["rideId"]] = item
            return True


class SlowStore(MemoryStore):
    """Each write waits `delay` seconds (as on DynamoDB) and the store counts writes under way at once."""

    def __init__(self, delay: float, barrier: threading.Barrier | None = None) -> None:
        super().__init__()
        self.delay, self.barrier = delay, barrier
        self.running = self.peak = 0

    def put_once(self, item: dict[str, Any]) -> bool:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            if self.barrier:
                self.barrier.wait()
            time.sleep(self.delay)
            return super().put_once(item)
        finally:
            with self.lock:
                self.running -= 1


def consumer_for(store: MemoryStore, failure_rate: float = 0.0, record_concurrency: int = 10) -> SubscriberConsumer:
    return SubscriberConsumer(effect=lambda ride: {"customer": ride.customer}, store=store,
                              settings=ConsumerSettings(table_name="unused", failure_rate=failure_rate,
                                                        record_concurrency=record_concurrency))


def test_records_of_a_batch_are_written_at_once():
    # Given a store that lets a write finish only when five are under way together
    store = SlowStore(0.0, threading.Barrier(5, timeout=10))
    event = sqs_event(*(sqs_record(ride_message(f"together-{i}")) for i in range(5)))
    # When a batch of five arrives, Then all five are written (one at a time, the first would wait forever)
    assert consumer_for(store, record_concurrency=5).lambda_handler(event, LambdaContext()) == {
        "batchItemFailures": []}
    assert len(store.items) == 5


def test_no_more_records_at_once_than_record_concurrency_and_failures_stay_exact():
    store = SlowStore(0.02)
    good = [sqs_record(ride_message(f"bounded-{i}"), message_id=f"good-{i}") for i in range(12)]
    event = sqs_event(*good[:6], sqs_record("poison", message_id="bad"), *good[6:])
    response = consumer_for(store, record_concurrency=3).lambda_handler(event, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert store.peak == 3 and len(store.items) == 12


def test_process_ride_is_idempotent_on_the_ride_id():
    store = MemoryStore()
    ride = Ride.model_validate(ride_message("r-1"))
    assert process_ride(ride, effect=lambda r: {"fare": r.fare}, store=store) is True
    assert process_ride(ride, effect=lambda r: {"fare": 0}, store=store) is False
    assert store.items == {"r-1": {"rideId": "r-1", "fare": 256.5}}


def test_partial_batch_reports_exactly_the_poison_records():
    store = MemoryStore()
    good = [sqs_record(ride_message(f"ride-{i}"), message_id=f"good-{i}") for i in range(3)]
    poison = [
        sqs_record("{not json", message_id="bad-json"),
        sqs_record({"hello": "world"}, message_id="bad-model"),
        sqs_record(ride_message("ride-x", fare=-1), message_id="bad-fare"),
        sqs_record({**ride_message(), "id": ""}, message_id="bad-id"),
    ]
    event = sqs_event(good[0], poison[0], good[1], poison[1], poison[2], good[2], poison[3])
    response = consumer_for(store).lambda_handler(event, LambdaContext())
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(
        ["bad-json", "bad-model", "bad-fare", "bad-id"])
    assert sorted(store.items) == ["ride-0", "ride-1", "ride-2"]


def test_whole_batch_of_poison_raises_so_lambda_retries_it():
    with pytest.raises(BatchProcessingError):
        consumer_for(MemoryStore()).lambda_handler(sqs_event(sqs_record("nope")), LambdaContext())


def test_duplicate_delivery_in_one_batch_and_across_batches_has_one_effect():
    store = MemoryStore()
    consumer = consumer_for(store)
    message = ride_message("ride-dup")
    first = consumer.lambda_handler(sqs_event(sqs_record(message), sqs_record(message)), LambdaContext())
    again = consumer.lambda_handler(sqs_event(sqs_record(message)), LambdaContext())
    assert first == again == {"batchItemFailures": []}
    assert list(store.items) == ["ride-dup"]


def test_failure_injection_fails_records_without_recording_them():
    store = MemoryStore()
    with pytest.raises(BatchProcessingError):
        consumer_for(store, failure_rate=1.0).lambda_handler(sqs_event(sqs_record(ride_message("a"))), LambdaContext())
    assert store.items == {}
    with pytest.raises(InjectedFailure):
        process_ride(Ride.model_validate(ride_message("c")), effect=dict, store=store, failure_rate=0.5,
                     chance=lambda: 0.49)
    assert process_ride(Ride.model_validate(ride_message("c")), effect=lambda r: {}, store=store,
                        failure_rate=0.5, chance=lambda: 0.5) is True


@pytest.mark.parametrize(("environ", "message"), [
    ({}, "EFFECT_TABLE_NAME is not set"),
    ({"EFFECT_TABLE_NAME": "t", "FAILURE_RATE": "often"}, "FAILURE_RATE must be a number from 0 to 1"),
    ({"EFFECT_TABLE_NAME": "t", "FAILURE_RATE": "1.5"}, "FAILURE_RATE must be a number from 0 to 1"),
    ({"EFFECT_TABLE_NAME": "t", "RECORD_CONCURRENCY": "0"}, "RECORD_CONCURRENCY must be a whole number from 1"),
    ({"EFFECT_TABLE_NAME": "t", "RECORD_CONCURRENCY": "ten"}, "RECORD_CONCURRENCY must be a whole number from 1"),
])
def test_consumer_environment_errors_are_clear(environ, message):
    with pytest.raises(RuntimeError, match=message):
        ConsumerSettings.from_environment(environ)


@pytest.fixture
def effect_table(aws, monkeypatch):
    boto3.client("dynamodb").create_table(
        TableName="Effects", KeySchema=[{"AttributeName": "rideId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "rideId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    monkeypatch.setenv("EFFECT_TABLE_NAME", "Effects")
    monkeypatch.setenv("FAILURE_RATE", "0")
    return boto3.resource("dynamodb").Table("Effects")


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_records_its_effect_once_in_dynamodb(effect_table, service):
    handler = importlib.reload(importlib.import_module(f"{service}.handler"))
    message = ride_message("ride-7")
    event = sqs_event(sqs_record(message), sqs_record("poison", message_id="p"))
    assert handler.lambda_handler(event, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "p"}]}
    first = effect_table.scan()["Items"]
    assert handler.lambda_handler(sqs_event(sqs_record(message)), LambdaContext()) == {"batchItemFailures": []}
    assert effect_table.scan()["Items"] == first
    [item] = first
    assert item["rideId"] == "ride-7" and item["customer"] == "cmr"


def test_service_effects_are_distinct(effect_table):
    ride = Ride.model_validate(ride_message("r"))
    notification = importlib.import_module("customer_notification.logic").notification(ride)
    ledger = importlib.import_module("customer_accounting.logic").ledger_entry(ride)
    extraordinary = importlib.import_module("extraordinary_rides.logic").extraordinary_ride(ride)
    assert "Berlin to Munich" in notification["message"]
    assert ledger == {"customer": "cmr", "entryType": "CHARGE", "amount": Decimal("256.5")}
    assert extraordinary["route"] == "Berlin -> Munich" and extraordinary["distance"] == Decimal("600.0")
