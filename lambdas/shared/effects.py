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
CONFLICT_ATTEMPTS = 8  # a charge that meets another transaction on its account is retried this often
POSITION_MOVES = 100  # a charge that finds its position taken retries at the next; each move is another's charge


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
    rides were accepted. The account's update is conditional on the position this environment last knew
    (`rides = :seen`): two charges of one customer at once cannot take one position. Nothing is read
    first: when another environment has charged the customer meanwhile, DynamoDB cancels the transaction
    and returns the account as it is (ReturnValuesOnConditionCheckFailure ALL_OLD, no read units), and
    the charge is retried at once at the next position. In steady state a charge is one request.

    A redelivery of the ride, whatever its amount, cancels the transaction on the entry's condition and
    changes nothing (False). A transaction that meets another on the same account (TransactionConflict)
    is retried with jitter a few times, then raised (SQS redelivers).
    """

    def __init__(self, table_name: str, accounts_table_name: str,
                 pause: Callable[[float], None] = time.sleep) -> None:
        self.table_name, self.accounts_table_name, self.pause = table_name, accounts_table_name, pause
        # one charge of a customer at a time in this environment: its batch's threads would only take each
        # other's position and retry (a batch of one busy customer thrashed); other environments still race
        self.customer_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self.positions: dict[str, int] = {}  # each customer's `rides` as this environment last saw it

    def transaction(self, item: dict[str, Any], position: int) -> list[dict[str, Any]]:
        entry = {**item, "position": position + 1}
        values = {":amount": _serialize(_amount(item)), ":next": {"N": str(position + 1)}}
        condition = "attribute_not_exists(rides)"  # the customer's first ride
        if position:
            condition, values[":seen"] = "rides = :seen", {"N": str(position)}
        return [
            {"Put": {"TableName": self.table_name, "Item": {k: _serialize(v) for k, v in entry.items()},
                     "ConditionExpression": "attribute_not_exists(rideId)"}},
            {"Update": {"TableName": self.accounts_table_name, "Key": {"customer": _serialize(item["customer"])},
                        "UpdateExpression": "ADD balance :amount SET rides = :next", "ConditionExpression": condition,
                        "ExpressionAttributeValues": values, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ]

    def put_once(self, item: dict[str, Any]) -> bool:
        _amount(item)  # before any write
        with self.customer_locks[item["customer"]]:
            return self._charge(item)

    def _charge(self, item: dict[str, Any]) -> bool:
        customer, conflicts, moves = item["customer"], 0, 0
        while True:
            position = self.positions.get(customer, 0)
            try:
                aws.dynamodb_client().transact_write_items(TransactItems=self.transaction(item, position))
                self.positions[customer] = position + 1
                return True
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons", [])
                codes = [r.get("Code", "None") for r in reasons]
                if codes[:1] == ["ConditionalCheckFailed"]:
                    return False  # the ledger holds this ride already: charged once, by an earlier delivery
                if codes[1:2] == ["ConditionalCheckFailed"]:  # charged meanwhile elsewhere: here is where it is
                    moves += 1
                    if moves > POSITION_MOVES:
                        raise
                    self.positions[customer] = _rides(reasons[1].get("Item"))
                    continue
                conflicts += 1
                if "TransactionConflict" not in codes or conflicts == CONFLICT_ATTEMPTS:
                    raise
                self.pause(random.uniform(0, 0.01 * 2 ** conflicts))


def _amount(item: dict[str, Any]) -> Decimal:
    amount = item["amount"]
    if not isinstance(amount, Decimal):
        raise TypeError(f"a ledger amount must be a Decimal, got {type(amount).__name__}")
    return amount


def _rides(account: dict[str, Any] | None) -> int:
    """The `rides` of an account as DynamoDB returned it (ALL_OLD), 0 where there is none yet."""
    return int(account["rides"]["N"]) if account and "rides" in account else 0
