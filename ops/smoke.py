"""Smoke test of a stack, local or deployed: the workshop's rides in, each in exactly the right tables.

Replaces the workshop's "curl five times and read the logs". It posts the workshop's sample ride,
its event.json ride (numbers as strings), a ride below the ExtraordinaryRides filter and one
invalid request; then waits, bounded, until each accepted ride is in exactly the effect tables that
the deployed filter policies (read from SNS, not assumed) say, and marked PUBLISHED in the Rides
table; and checks every DLQ is empty and no alarm of the stack is in ALARM. All must hold.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from ops.filters import Subscription, deployed_subscriptions
from ops.watch import dead_letters, stack_alarms


@dataclass(frozen=True)
class SmokeCase:
    name: str
    body: str
    expected_status: int

    @property
    def ride(self) -> dict[str, Any] | None:
        return json.loads(self.body) if self.expected_status == 201 else None


SAMPLE_RIDE = SmokeCase("workshop sample ride", json.dumps(
    {"from": "Berlin", "to": "Munich", "duration": 480, "distance": 600, "customer": "cmr", "fare": 256.50}), 201)
EVENT_JSON_RIDE = SmokeCase("workshop event.json (numbers as strings)", json.dumps(
    {"from": "Frankfurt", "to": "Las Vegas", "duration": "3000", "distance": "1200", "customer": "cmr",
     "fare": "899.99"}), 201)
BELOW_FILTER_RIDE = SmokeCase("ride below the filter", json.dumps(
    {"from": "Berlin", "to": "Potsdam", "duration": 40, "distance": 12, "customer": "cmr", "fare": 18.4}), 201)
INVALID_REQUEST = SmokeCase("invalid request (typo: fair)", json.dumps(
    {"from": "Berlin", "to": "Munich", "duration": 480, "distance": 600, "customer": "cmr", "fair": 256.5}), 400)
CASES = (SAMPLE_RIDE, EVENT_JSON_RIDE, BELOW_FILTER_RIDE, INVALID_REQUEST)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class SmokeReport:
    stack: str
    target: str
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class Placement:
    """One accepted ride: where the filters say it belongs, and where it has been seen."""

    case: SmokeCase
    ride_id: str
    expected: set[str]
    unexpected: set[str]
    unknown: set[str]
    seen: set[str] = field(default_factory=set)


def post(client: httpx.Client, url: str, case: SmokeCase) -> tuple[int, dict[str, Any]]:
    response = client.post(url, content=case.body.encode(), headers={
        "Content-Type": "application/json", "Idempotency-Key": f"smoke-{uuid.uuid4()}"})
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    return response.status_code, answer if isinstance(answer, dict) else {}


def placements_for(case: SmokeCase, ride_id: str, subscriptions: dict[str, Subscription]) -> Placement:
    verdicts = {name: s.expects(case.ride or {}) for name, s in subscriptions.items()}
    return Placement(case, ride_id, expected={n for n, v in verdicts.items() if v},
                     unexpected={n for n, v in verdicts.items() if v is False},
                     unknown={n for n, v in verdicts.items() if v is None})


def _in_table(dynamodb: Any, table: str, ride_id: str) -> bool:
    return "Item" in dynamodb.get_item(TableName=table, Key={"rideId": {"S": ride_id}}, ConsistentRead=True,
                                       ProjectionExpression="rideId")


def run_smoke(target: Any, *, cases: tuple[SmokeCase, ...] = CASES, timeout: float = 60.0, settle: float = 2.0,
              on_wait: Callable[[int, int, float], None] | None = None,
              sleep: Callable[[float], None] = time.sleep) -> SmokeReport:
    started = time.monotonic()
    report = SmokeReport(stack=target.stack_name, target=target.kind)
    subscriptions = deployed_subscriptions(target)
    tables = {s.name: s.table_name for s in target.services if s.table_name}
    dynamodb = target.client("dynamodb")
    placements: list[Placement] = []
    with httpx.Client(timeout=30, auth=target.api_auth()) as client:
        for case in cases:
            try:
                status, answer = post(client, target.api_url, case)
            except httpx.HTTPError as error:
                report.checks.append(Check(f"POST {case.name}", False, f"no answer: {error}"))
                continue
            errors = answer.get("errors") if isinstance(answer.get("errors"), list) else []
            detail = f"{status} " + ("; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors if
                                               isinstance(e, dict)) if errors else json.dumps(answer)[:120])
            report.checks.append(Check(f"POST {case.name} -> {case.expected_status}", status == case.expected_status,
                                       detail))
            if status == 201 and case.expected_status == 201 and answer.get("id"):
                placements.append(placements_for(case, str(answer["id"]), subscriptions))

    # Wait until every ride is in every table its filters send it to.
    wanted = sum(len(p.expected) for p in placements)
    deadline = started + timeout
    while True:
        for placement in placements:
            for service in placement.expected - placement.seen:
                if _in_table(dynamodb, tables[service], placement.ride_id):
                    placement.seen.add(service)
        found = sum(len(p.seen) for p in placements)
        if on_wait:
            on_wait(found, wanted, time.monotonic() - started)
        if found == wanted or time.monotonic() >= deadline:
            break
        sleep(0.5)
    if placements:
        sleep(settle)  # a ride that should not reach a service would arrive with the others
    for placement in placements:
        astray = {s for s in placement.unexpected if _in_table(dynamodb, tables[s], placement.ride_id)}
        missing = placement.expected - placement.seen
        ok = not missing and not astray and not placement.unknown
        detail = f"in {', '.join(sorted(placement.seen)) or 'no table'}"
        detail += f"; missing from {', '.join(sorted(missing))}" if missing else ""
        detail += f"; astray in {', '.join(sorted(astray))}" if astray else ""
        detail += f"; filter unknown for {', '.join(sorted(placement.unknown))}" if placement.unknown else ""
        report.checks.append(Check(f"{placement.case.name} in exactly its tables", ok, detail))
    rides_table = target.outputs.get("RidesTableName")
    for placement in placements if rides_table else []:
        item = dynamodb.get_item(TableName=rides_table, Key={"id": {"S": placement.ride_id}}, ConsistentRead=True)
        status = item.get("Item", {}).get("status", {}).get("S", "missing")
        report.checks.append(Check(f"{placement.case.name} PUBLISHED in the Rides table", status == "PUBLISHED",
                                   status))

    sqs = target.client("sqs")
    for service in target.services:
        depths = {kind: dead_letters(sqs, url) for kind, url in service.dead_letter_queues}
        report.checks.append(Check(f"{service.name} DLQs empty", not any(depths.values()),
                                   ", ".join(f"{kind} {n}" for kind, n in depths.items())))
    alarms = stack_alarms(target.client("cloudwatch"), target.stack_name, target.outputs.get("AlarmTopicArn"))
    firing = [a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"]
    report.checks.append(Check("no alarm in ALARM", not firing,
                               ", ".join(firing) if firing else f"{len(alarms)} alarms, none in ALARM"))
    report.seconds = time.monotonic() - started
    return report
