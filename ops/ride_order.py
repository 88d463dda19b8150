"""Order per customer: were a customer's charges applied in the order its rides were accepted?

The accounting ledger records each entry's `position` in its customer's sequence (1, 2, ...), and the
Rides table when the topic took each ride: on a FIFO topic its `sequenceNumber` (SNS's own order,
increasing within a customer's message group: exact), else `publishedAt` (ns, when the producer saw the
topic take it: exact only for rides of one customer sent one after another). An entry applied
after one of the same customer accepted later is out of order. With ordering "fifo" there are none
(SNS FIFO and SQS FIFO keep each customer's message group in order, and a failed record holds back the
rest of its group); with the standard topic and queues a retried ride is applied after the rides behind
it, so sums stay exact but the order does not. Rides in a DLQ have no entry and are not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SAMPLE = 5


@dataclass
class OrderCheck:
    customers: int
    entries: int  # ledger entries of accepted rides, with a position and an acceptance time
    out_of_order: int  # entries applied after an entry of the same customer accepted later
    examples: list[dict[str, str]] = field(default_factory=list)  # customer, ride, applied after (a ride)


def ledger_positions(dynamodb: Any, table: str) -> dict[str, tuple[str, int]]:
    """rideId -> (customer, position) of every ledger entry that has a position."""
    positions = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True,
                                                        ProjectionExpression="rideId, customer, #p",
                                                        ExpressionAttributeNames={"#p": "position"}):
        for item in page["Items"]:
            if "position" in item:
                positions[item["rideId"]["S"]] = (item.get("customer", {}).get("S", "?"), int(item["position"]["N"]))
    return positions


def accepted_at(dynamodb: Any, rides_table: str, ids: set[str]) -> dict[str, int]:
    """rideId -> the topic's sequence number (FIFO) or publishedAt (ns) of the accepted rides."""
    times = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=rides_table,
                                                        ProjectionExpression="id, publishedAt, sequenceNumber"):
        for item in page["Items"]:
            if item["id"]["S"] not in ids:
                continue
            if "sequenceNumber" in item:
                times[item["id"]["S"]] = int(item["sequenceNumber"]["S"])
            elif "publishedAt" in item:
                times[item["id"]["S"]] = int(item["publishedAt"]["N"])
    return times


def check_order(positions: Mapping[str, tuple[str, int]], accepted: Mapping[str, int]) -> OrderCheck:
    by_customer: dict[str, list[tuple[int, str]]] = {}
    for ride_id, (customer, position) in positions.items():
        if ride_id in accepted:
            by_customer.setdefault(customer, []).append((position, ride_id))
    check = OrderCheck(customers=len(by_customer), entries=sum(map(len, by_customer.values())), out_of_order=0)
    for customer, entries in sorted(by_customer.items()):
        latest: str | None = None  # the latest-accepted ride applied so far
        for _, ride_id in sorted(entries):
            if latest is not None and accepted[ride_id] < accepted[latest]:
                check.out_of_order += 1
                if len(check.examples) < SAMPLE:
                    check.examples.append({"customer": customer, "ride": ride_id, "applied_after": latest})
            elif latest is None or accepted[ride_id] > accepted[latest]:
                latest = ride_id
    return check
