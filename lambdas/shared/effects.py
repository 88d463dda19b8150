"""Idempotent effects of the subscriber services, keyed on the producer's ride id.

A subscriber's effect is one conditional write: the item appears once, whatever the number of
deliveries (SQS is at-least-once; SNS may redeliver). The key is the ride id, never the SQS
message id, which differs per queue and per redelivery.

An effect that is not a pure function of the ride, such as adding a fare to a customer's balance,
needs more than one write, and a crash between two writes must neither repeat nor lose one. So
`DynamoLedgerStore` writes the ride's ledger entry and the account's update in one DynamoDB
transaction (TransactWriteItems), conditional on the ledger entry not existing: both or neither.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from shared import aws

_serialize = TypeSerializer().serialize
CONFLICT_ATTEMPTS = 8  # a charge that races another of the same customer is retried this often


class EffectStore(Protocol):
    def put_once(self, item: dict[str, Any]) -> bool:
        """Store the item unless one with its `rideId` exists; True if this call stored it."""


class DynamoEffectStore:
    """The service's own table, partition key `rideId`; one request per record, from any thread."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def put_once(self, item: dict[str, Any]) -> bool:
        try:
            aws.dynamodb_client().put_item(TableName=self.table_name, Item={k: _serialize(v) for k, v in item.items()},
                                           ConditionExpression="attribute_not_exists(rideId)")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


class DynamoLedgerStore:
    """A ledger (the service's table, partition key `rideId`) and per-customer accounts (partition key
    `customer`): each entry and its account's `balance`/`rides` update commit in one transaction.

    The entry must carry `customer` and `amount` (a Decimal: DynamoDB adds numbers exactly, never as
    floats). It is stored with its `position` in the customer's sequence (1, 2, ...: the account's
    `rides` it makes), so the order the entries were applied in can be checked against the order the
    rides were accepted. The position is read first (a consistent GetItem) and the account's update is
    conditional on it being unchanged: two charges of one customer at once cannot take one position.

    A redelivery of the ride, whatever its amount, cancels the transaction on the entry's condition and
    changes nothing (False). A transaction that meets another on the same account (TransactionConflict)
    or finds the position taken meanwhile is retried with jitter a few times, then raised (SQS redelivers).
    """

    def __init__(self, table_name: str, accounts_table_name: str,
                 pause: Callable[[float], None] = time.sleep) -> None:
        self.table_name, self.accounts_table_name, self.pause = table_name, accounts_table_name, pause
        # one charge of a customer at a time in this environment: its batch's threads would only take each
        # other's position and retry (a batch of one busy customer thrashed); other environments still race
        self.customer_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def position(self, customer: str) -> int:
        """How many rides the customer's account holds (0 before its first)."""
        item = aws.dynamodb_client().get_item(TableName=self.accounts_table_name, Key={"customer": {"S": customer}},
                                              ConsistentRead=True, ProjectionExpression="rides").get("Item")
        return int(item["rides"]["N"]) if item and "rides" in item else 0

    def transaction(self, item: dict[str, Any], position: int) -> list[dict[str, Any]]:
        amount = item["amount"]
        if not isinstance(amount, Decimal):
            raise TypeError(f"a ledger amount must be a Decimal, got {type(amount).__name__}")
        entry = {**item, "position": position + 1}
        values = {":amount": _serialize(amount), ":next": {"N": str(position + 1)}}
        condition = "attribute_not_exists(customer)"  # the customer's first ride
        if position:
            condition, values[":seen"] = "rides = :seen", {"N": str(position)}
        return [
            {"Put": {"TableName": self.table_name, "Item": {k: _serialize(v) for k, v in entry.items()},
                     "ConditionExpression": "attribute_not_exists(rideId)"}},
            {"Update": {"TableName": self.accounts_table_name, "Key": {"customer": _serialize(item["customer"])},
                        "UpdateExpression": "ADD balance :amount SET rides = :next", "ConditionExpression": condition,
                        "ExpressionAttributeValues": values}},
        ]

    def put_once(self, item: dict[str, Any]) -> bool:
        if not isinstance(item["amount"], Decimal):  # before any read or write
            raise TypeError(f"a ledger amount must be a Decimal, got {type(item['amount']).__name__}")
        with self.customer_locks[item["customer"]]:
            return self._charge(item)

    def _charge(self, item: dict[str, Any]) -> bool:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            items = self.transaction(item, self.position(item["customer"]))
            try:
                aws.dynamodb_client().transact_write_items(TransactItems=items)
                return True
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code", "None") for r in error.response.get("CancellationReasons", [])]
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    return False  # the ledger holds this ride already: charged once, by an earlier delivery
                raced = "TransactionConflict" in reasons or reasons[1:2] == ["ConditionalCheckFailed"]
                if not raced or attempt == CONFLICT_ATTEMPTS:
                    raise
                self.pause(random.uniform(0, 0.01 * 2 ** attempt))
        raise AssertionError("unreachable")
