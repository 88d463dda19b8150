"""Account for every accepted ride in every service: processed once, in a DLQ, lost, or astray.

Given the rides the API accepted (id, fare, distance), per service:
- expected: rides its deployed filter policy lets through (ops/filters.py; None if the policy uses
  an operator the reader does not know, and then lost/astray are measured against what arrived);
- processed: rides in its effect table (the write is conditional on the ride id: at most once);
- in DLQ: rides in its DLQ or subscription DLQ; poison: DLQ messages that carry no accepted ride;
- lost: expected but neither processed nor in a DLQ; astray: processed or dead-lettered, not expected.
Plus the Rides table's status counts (PENDING rides never reached the topic: `rides republish`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ops.dlq import list_dead_letters
from ops.filters import deployed_subscriptions
from ops.services import Service

SAMPLE = 5  # ids shown per problem


@dataclass
class ServiceReconciliation:
    service: str
    expected: int | None
    processed: int
    in_dlq: int
    poison: int
    lost: int
    astray: int
    lost_ids: list[str] = field(default_factory=list)
    astray_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.astray == 0


@dataclass
class Reconciliation:
    accepted: int
    services: list[ServiceReconciliation]
    rides_status: dict[str, int]  # status -> accepted rides with it in the Rides table

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.services)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def table_ride_ids(dynamodb: Any, table: str) -> set[str]:
    ids = set()
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="rideId"):
        ids.update(item["rideId"]["S"] for item in page["Items"])
    return ids


def rides_status(dynamodb: Any, table: str, ids: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="id, #s",
                                                        ExpressionAttributeNames={"#s": "status"}):
        for item in page["Items"]:
            if item["id"]["S"] in ids:
                status = item.get("status", {}).get("S", "?")
                counts[status] = counts.get(status, 0) + 1
    missing = len(ids) - sum(counts.values())
    return {**counts, **({"missing": missing} if missing else {})}


def reconcile_service(service: Service, expected: set[str] | None, processed: set[str], dead: set[str],
                      poison: int, accepted: set[str]) -> ServiceReconciliation:
    arrived = (processed | dead) & accepted
    should = arrived if expected is None else expected
    lost = sorted(should - processed - dead)
    astray = sorted(arrived - should)
    return ServiceReconciliation(service=service.name, expected=None if expected is None else len(expected),
                                 processed=len(processed & accepted), in_dlq=len(dead & accepted), poison=poison,
                                 lost=len(lost), astray=len(astray), lost_ids=lost[:SAMPLE], astray_ids=astray[:SAMPLE])


def reconcile(target: Any, rides: Iterable[Mapping[str, Any]], *, dlq_limit: int = 10_000) -> Reconciliation:
    accepted = {str(r["id"]): r for r in rides}
    ids = set(accepted)
    dynamodb = target.client("dynamodb")
    subscriptions = deployed_subscriptions(target)
    rows = []
    for service in target.services:
        verdicts = {rid: subscriptions[service.name].expects(ride) for rid, ride in accepted.items()}
        expected = None if None in verdicts.values() else {rid for rid, verdict in verdicts.items() if verdict}
        processed = table_ride_ids(dynamodb, service.table_name) if service.table_name else set()
        letters = list_dead_letters(target, [service], limit=dlq_limit)
        dead = {letter.ride_id for letter in letters if letter.ride_id in ids}
        poison = sum(letter.ride_id not in ids for letter in letters)
        rows.append(reconcile_service(service, expected, processed, dead, poison, ids))
    table = target.outputs.get("RidesTableName")
    status = rides_status(dynamodb, table, ids) if table else {}
    return Reconciliation(accepted=len(ids), services=rows, rides_status=status)
