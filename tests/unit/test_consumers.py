"""Subscriber consumers: partial batches, poison records, idempotent effects, failure injection.

Idempotency is tested against DynamoDB (moto), never an in-memory stand-in: a test that passes with the
write's condition removed proves nothing. The accounting ledger's effect is a sum (a balance), so a
duplicate that got past the condition shows as a second charge.
"""

from __future__ import annotations

import importlib
import threading
import time
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from shared import effects
from shared.consumer import ConsumerSettings, InjectedFailure, SubscriberConsumer, process_ride
from shared.effects import DynamoEffectStore, DynamoLedgerStore
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


def consumer_for(store: MemoryStore, failure_rate: float = 0.0, record_concurrency: int = 10,
                 fifo: bool = False) -> SubscriberConsumer:
    return SubscriberConsumer(effect=lambda ride: {"customer": ride.customer}, store=store,
                              settings=ConsumerSettings(table_name="unused", failure_rate=failure_rate,
                                                        record_concurrency=record_concurrency, fifo=fifo))


class FailingStore(MemoryStore):
    """Fails the write of the named rides (as DynamoDB throttling would) and keeps the order of writes."""

    def __init__(self, failing: set[str]) -> None:
        super().__init__()
        self.failing, self.order = failing, []

    def put_once(self, item: dict[str, Any]) -> bool:
        if item["rideId"] in self.failing:
            raise RuntimeError(f"write of {item['rideId']} failed")
        self.order.append(item["rideId"])
        return super().put_once(item)


def test_a_fifo_batch_is_applied_in_order_and_a_failure_holds_back_only_the_rest_of_its_group():
    # Given a FIFO batch of two customers' rides (groups a and b), where the write of a2 fails
    records = [sqs_record(ride_message(ride, customer=group), message_id=ride, group=group)
               for ride, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]]
    store = FailingStore({"a2"})
    # When the FIFO consumer takes it
    response = consumer_for(store, fifo=True).lambda_handler(sqs_event(*records), LambdaContext())
    # Then a2 and everything after it in group a come back failed, unprocessed, so SQS returns them in order
    assert response == {"batchItemFailures": [{"itemIdentifier": "a2"}, {"itemIdentifier": "a3"}]}
    # and the rest was applied one record at a time, in the batch's order
    assert store.order == ["a1", "b1", "b2"]


def test_the_standard_consumer_applies_records_after_a_failure_in_any_order():
    # The same batch on a standard queue: a3 is applied although a2 failed (order is not kept)
    records = [sqs_record(ride_message(ride, customer=group), message_id=ride)
               for ride, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]]
    store = FailingStore({"a2"})
    response = consumer_for(store).lambda_handler(sqs_event(*records), LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "a2"}]}
    assert sorted(store.order) == ["a1", "a3", "b1", "b2"]


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
    ({"EFFECT_TABLE_NAME": "t", "ORDERING": "FIFO"}, "ORDERING must be standard or fifo, got 'FIFO'"),
])
def test_consumer_environment_errors_are_clear(environ, message):
    with pytest.raises(RuntimeError, match=message):
        ConsumerSettings.from_environment(environ)


def create_table(name: str, key: str) -> Any:
    boto3.client("dynamodb").create_table(
        TableName=name, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return boto3.resource("dynamodb").Table(name)


@pytest.fixture
def effect_table(aws, moto_as_the_local_cloud_runs_it, monkeypatch):
    """The Effects and Accounts tables. A batch's records are written from several threads at once, so
    moto runs with the local cloud's transaction fix (on AWS, DynamoDB itself is safe under them)."""
    table = create_table("Effects", "rideId")
    create_table("Accounts", "customer")
    monkeypatch.setenv("EFFECT_TABLE_NAME", "Effects")
    monkeypatch.setenv("ACCOUNTS_TABLE_NAME", "Accounts")
    monkeypatch.setenv("FAILURE_RATE", "0")
    return table


@pytest.fixture
def accounts(effect_table) -> Any:
    return boto3.resource("dynamodb").Table("Accounts")


def balances(accounts: Any) -> dict[str, tuple[Decimal, Decimal]]:
    return {item["customer"]: (item["balance"], item["rides"]) for item in accounts.scan(ConsistentRead=True)["Items"]}


def test_process_ride_is_idempotent_on_the_ride_id(effect_table):
    store = DynamoEffectStore("Effects")
    ride = Ride.model_validate(ride_message("r-1"))
    assert process_ride(ride, effect=lambda r: {"fare": Decimal(str(r.fare))}, store=store) is True
    assert process_ride(ride, effect=lambda r: {"fare": Decimal(0)}, store=store) is False
    assert effect_table.scan()["Items"] == [{"rideId": "r-1", "fare": Decimal("256.5")}]


def test_the_ledger_transaction_twice_charges_once_and_the_second_returns_false(effect_table, accounts):
    store = DynamoLedgerStore("Effects", "Accounts")
    entry = {"rideId": "r-1", "customer": "cmr", "entryType": "CHARGE", "amount": Decimal("256.5")}
    assert store.put_once(entry) is True
    assert store.put_once(entry) is False
    assert store.put_once({**entry, "amount": Decimal("1000")}) is False  # redelivered with another fare
    assert store.put_once({**entry, "rideId": "r-2", "amount": Decimal("0.1")}) is True
    assert store.put_once({**entry, "rideId": "r-3", "amount": Decimal("0.2")}) is True
    assert balances(accounts) == {"cmr": (Decimal("256.8"), 3)}  # exact: 0.1 + 0.2 is 0.3 here
    assert {i["rideId"]: i["amount"] for i in effect_table.scan()["Items"]} == {
        "r-1": Decimal("256.5"), "r-2": Decimal("0.1"), "r-3": Decimal("0.2")}


def test_redelivering_a_ride_with_another_fare_keeps_the_first_amount(effect_table, accounts):
    handler = importlib.reload(importlib.import_module("customer_accounting.handler"))
    first = handler.lambda_handler(sqs_event(sqs_record(ride_message("r-9", fare=12.34))), LambdaContext())
    again = handler.lambda_handler(sqs_event(sqs_record(ride_message("r-9", fare=99.99))), LambdaContext())
    assert first == again == {"batchItemFailures": []}
    assert balances(accounts) == {"cmr": (Decimal("12.34"), 1)}
    assert effect_table.get_item(Key={"rideId": "r-9"})["Item"]["amount"] == Decimal("12.34")


def test_duplicate_delivery_in_one_batch_and_across_batches_has_one_effect(effect_table, accounts):
    handler = importlib.reload(importlib.import_module("customer_accounting.handler"))
    message, other = ride_message("ride-dup"), ride_message("ride-other", customer="ana", fare=10)
    first = handler.lambda_handler(sqs_event(sqs_record(message), sqs_record(message), sqs_record(other)),
                                   LambdaContext())
    again = handler.lambda_handler(sqs_event(sqs_record(message), sqs_record(other)), LambdaContext())
    assert first == again == {"batchItemFailures": []}
    assert sorted(i["rideId"] for i in effect_table.scan()["Items"]) == ["ride-dup", "ride-other"]
    assert balances(accounts) == {"cmr": (Decimal("256.5"), 1), "ana": (Decimal("10"), 1)}


def test_each_entry_records_its_position_in_the_customers_sequence(effect_table, accounts):
    store = DynamoLedgerStore("Effects", "Accounts")
    for ride, customer in [("r-1", "cmr"), ("r-2", "ana"), ("r-3", "cmr"), ("r-4", "cmr")]:
        assert store.put_once({"rideId": ride, "customer": customer, "amount": Decimal(1)}) is True
    assert store.put_once({"rideId": "r-3", "customer": "cmr", "amount": Decimal(1)}) is False
    assert {i["rideId"]: i["position"] for i in effect_table.scan()["Items"]} == {
        "r-1": 1, "r-2": 1, "r-3": 2, "r-4": 3}
    assert balances(accounts) == {"cmr": (Decimal(3), 3), "ana": (Decimal(1), 1)}


def test_a_charge_whose_position_was_taken_meanwhile_is_not_applied_at_that_position(effect_table, accounts):
    # Given the customer's account moved on since this charge's position (another charge won the race)
    store = DynamoLedgerStore("Effects", "Accounts")
    store.put_once({"rideId": "first", "customer": "cmr", "amount": Decimal(5)})
    stale = store.transaction({"rideId": "late", "customer": "cmr", "amount": Decimal(7)}, position=0)
    # When it commits with that position, Then DynamoDB cancels it on the account's condition, and says where
    with pytest.raises(ClientError) as cancelled:
        boto3.client("dynamodb").transact_write_items(TransactItems=stale)
    reasons = cancelled.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["rides"] == {"N": "1"}
    # and another environment's store, which last saw no charge of this customer, applies it next
    assert DynamoLedgerStore("Effects", "Accounts").put_once(
        {"rideId": "late", "customer": "cmr", "amount": Decimal(7)}) is True
    assert balances(accounts) == {"cmr": (Decimal(12), 2)}
    assert effect_table.get_item(Key={"rideId": "late"})["Item"]["position"] == 2


def test_two_environments_charging_one_customer_take_every_position_once(effect_table, accounts):
    stores = [DynamoLedgerStore("Effects", "Accounts") for _ in range(3)]
    for n in range(30):
        assert stores[n * 7 % 3].put_once({"rideId": f"r-{n}", "customer": "cmr", "amount": Decimal(1)}) is True
    assert sorted(i["position"] for i in effect_table.scan()["Items"]) == list(range(1, 31))
    assert balances(accounts) == {"cmr": (Decimal(30), 30)}


def test_in_steady_state_a_charge_is_one_request(effect_table, accounts, monkeypatch):
    client, calls = boto3.client("dynamodb"), []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(client, name)

    monkeypatch.setattr(effects.aws, "dynamodb_client", Counting)
    store = DynamoLedgerStore("Effects", "Accounts")
    for n in range(5):
        store.put_once({"rideId": f"r-{n}", "customer": "cmr", "amount": Decimal(1)})
    assert calls == ["transact_write_items"] * 5  # no read of the account first


def test_a_float_amount_is_refused_before_any_write(effect_table, accounts):
    with pytest.raises(TypeError, match="Decimal"):
        DynamoLedgerStore("Effects", "Accounts").put_once({"rideId": "f", "customer": "c", "amount": 0.1})
    assert balances(accounts) == {} and effect_table.scan()["Items"] == []


class ConflictingClient:
    """A DynamoDB client whose transactions are cancelled `conflicts` times first, for `reasons`; a
    cancellation on the account's condition returns the account as it is (ALL_OLD), one charge further on."""

    def __init__(self, conflicts: int, reasons: tuple[str, ...] = ("None", "TransactionConflict")) -> None:
        self.conflicts, self.reasons, self.positions = conflicts, reasons, []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:
        self.positions.append(int(TransactItems[0]["Put"]["Item"]["position"]["N"]))
        if len(self.positions) <= self.conflicts:
            account = {"Item": {"rides": {"N": str(len(self.positions))}}}
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                               "CancellationReasons": [{"Code": c, **(account if c == "ConditionalCheckFailed" else {})}
                                                       for c in self.reasons]}, "TransactWriteItems")


def store_on(monkeypatch, client: ConflictingClient) -> tuple[DynamoLedgerStore, list[float]]:
    pauses: list[float] = []
    monkeypatch.setattr(effects.aws, "dynamodb_client", lambda: client)
    return DynamoLedgerStore("Effects", "Accounts", pause=pauses.append), pauses


@pytest.mark.parametrize(("conflicts", "stored"), [(effects.CONFLICT_ATTEMPTS - 1, True),
                                                   (effects.CONFLICT_ATTEMPTS, None)])
def test_a_transaction_conflict_is_retried_a_few_times_with_jitter_then_raised(monkeypatch, conflicts, stored):
    client = ConflictingClient(conflicts)
    store, pauses = store_on(monkeypatch, client)
    entry = {"rideId": "r", "customer": "c", "amount": Decimal(1)}
    if stored:
        assert store.put_once(entry) is True
    else:
        with pytest.raises(ClientError):
            store.put_once(entry)
    assert len(client.positions) == min(conflicts + 1, effects.CONFLICT_ATTEMPTS)
    assert len(pauses) == len(client.positions) - 1 and client.positions == [1] * len(client.positions)


@pytest.mark.parametrize(("moves", "stored"), [(effects.POSITION_MOVES, True), (effects.POSITION_MOVES + 1, None)])
def test_a_position_taken_meanwhile_is_retried_at_once_at_the_position_dynamodb_returned(monkeypatch, moves, stored):
    client = ConflictingClient(moves, ("None", "ConditionalCheckFailed"))
    store, pauses = store_on(monkeypatch, client)
    entry = {"rideId": "r", "customer": "c", "amount": Decimal(1)}
    if stored:
        assert store.put_once(entry) is True
        assert client.positions == list(range(1, moves + 2)) and store.positions == {"c": moves + 1}
    else:
        with pytest.raises(ClientError):
            store.put_once(entry)
    assert pauses == []  # each move is another charge applied: progress, not contention to back off from


@pytest.mark.parametrize("reasons", [("None", "ValidationError"), ("None", "ThrottlingError")])
def test_any_other_cancellation_is_raised_at_once(monkeypatch, reasons):
    client = ConflictingClient(1, reasons)
    store, _ = store_on(monkeypatch, client)
    with pytest.raises(ClientError):
        store.put_once({"rideId": "r", "customer": "c", "amount": Decimal(1)})
    assert len(client.positions) == 1


def test_the_accounting_consumer_needs_its_accounts_table():
    from customer_accounting.logic import accounts_table_name

    with pytest.raises(RuntimeError, match="ACCOUNTS_TABLE_NAME is not set"):
        accounts_table_name({})


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
    if service == "customer_accounting":
        assert balances(boto3.resource("dynamodb").Table("Accounts")) == {"cmr": (Decimal("256.5"), 1)}


def test_service_effects_are_distinct(effect_table):
    ride = Ride.model_validate(ride_message("r"))
    notification = importlib.import_module("customer_notification.logic").notification(ride)
    ledger = importlib.import_module("customer_accounting.logic").ledger_entry(ride)
    extraordinary = importlib.import_module("extraordinary_rides.logic").extraordinary_ride(ride)
    assert "Berlin to Munich" in notification["message"]
    assert ledger == {"customer": "cmr", "entryType": "CHARGE", "amount": Decimal("256.5")}
    assert extraordinary["route"] == "Berlin -> Munich" and extraordinary["distance"] == Decimal("600.0")
