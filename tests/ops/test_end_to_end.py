"""The wildrydes commands end to end on the local cloud: send, watch, reconcile, dlq, rides, smoke."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from ops.reconcile import reconcile
from ops.send_report import read_accepted
from ops.smoke import CASES, EVENT_JSON_RIDE, run_smoke
from ops.target import Target
from ops.traffic import ride_attributes, ride_message
from tests.local.conftest import wait_for
from tests.ops.conftest import run_cli

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)

ALL = {"CustomerAccounting", "CustomerNotification", "ExtraordinaryRides"}


def snapshot(endpoints: Path) -> dict:
    result = run_cli(endpoints, "watch", "--once", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def wait_drained(endpoints: Path, timeout: float = 90) -> dict:
    return wait_for(lambda: (s := snapshot(endpoints))["drained"] and s, timeout=timeout, what="the queues to drain")


def in_table(target: Target, service: str, ride_ids: set[str]) -> set[str]:
    table = target.service(service).table_name
    dynamodb = target.client("dynamodb")
    return {rid for rid in ride_ids if "Item" in dynamodb.get_item(TableName=table, Key={"rideId": {"S": rid}})}


def new_ride(fare: float, distance: float) -> dict:
    return {"id": str(uuid.uuid4()), "from": "Berlin", "to": "Potsdam", "duration": 40, "distance": distance,
            "customer": "cmr", "fare": fare}


def test_send_500_rides_watch_them_drain_and_reconcile(endpoints: Path, target: Target, tmp_path: Path):
    rides_file = tmp_path / "rides.jsonl"
    result = run_cli(endpoints, "send", "500", "--concurrency", "16", "--invalid", "0.02", "--json",
                     "--out", str(rides_file))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sent"] == 500 and summary["invalid_sent"] > 0 and summary["unexpected"] == 0
    assert summary["accepted"] == 500 - summary["invalid_sent"] == summary["statuses"]["201"]
    assert summary["rejected"] == summary["invalid_sent"] and summary["failed"] == 0

    drained = wait_drained(endpoints)
    assert [s["service"] for s in drained["services"]] == sorted(ALL)
    assert all(s["dlq"] == 0 and s["subscription_dlq"] == 0 for s in drained["services"])
    assert drained["in_alarm"] == []

    accepted = read_accepted(rides_file)
    result = reconcile(target, accepted)
    assert result.ok and result.accepted == summary["accepted"]
    extraordinary = sum(r["fare"] >= 50 and r["distance"] >= 20 for r in accepted)
    assert {s.service: (s.expected, s.processed) for s in result.services} == {
        "CustomerAccounting": (len(accepted), len(accepted)), "CustomerNotification": (len(accepted), len(accepted)),
        "ExtraordinaryRides": (extraordinary, extraordinary)}
    assert result.rides_status == {"PUBLISHED": len(accepted)}
    assert run_cli(endpoints, "reconcile", str(rides_file)).exit_code == 0


def test_rides_sent_straight_to_the_topic_reach_their_services(endpoints: Path, target: Target, tmp_path: Path):
    rides_file = tmp_path / "topic.jsonl"
    result = run_cli(endpoints, "send", "40", "--via", "topic", "--json", "--out", str(rides_file))
    assert result.exit_code == 0 and json.loads(result.stdout)["accepted"] == 40
    wait_drained(endpoints)
    outcome = reconcile(target, read_accepted(rides_file))
    assert sorted(s.service for s in outcome.services) == sorted(ALL)  # all() below is over the three
    assert outcome.ok and all(s.processed == s.expected for s in outcome.services)
    assert outcome.rides_status == {"missing": 40}  # the topic path bypasses the producer and its table


def test_valid_rides_in_a_dlq_are_redriven_and_processed_exactly_once(endpoints: Path, target: Target):
    service = target.service("ExtraordinaryRides")
    sqs = target.client("sqs")
    rides = [new_ride(fare=80 + n, distance=30) for n in range(12)]
    for ride in [*rides, rides[0]]:  # the first one twice: a duplicate in the DLQ
        sqs.send_message(QueueUrl=service.dlq_url, MessageBody=ride_message(ride),
                         MessageAttributes=ride_attributes(ride))
    ids = {r["id"] for r in rides}

    listed = run_cli(endpoints, "dlq", "list", "ExtraordinaryRides", "--json")
    assert listed.exit_code == 0
    assert {row["ride_id"] for row in json.loads(listed.stdout)} == ids and len(json.loads(listed.stdout)) == 13
    shown = run_cli(endpoints, "dlq", "show", rides[1]["id"], "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["body"] == ride_message(rides[1])
    assert in_table(target, "ExtraordinaryRides", ids) == set()  # a look consumes nothing

    result = run_cli(endpoints, "dlq", "redrive", "ExtraordinaryRides", "--json")
    assert result.exit_code == 0, result.output
    assert {(r["kind"], r["status"], r["moved"]) for r in json.loads(result.stdout)} == {
        ("dlq", "COMPLETED", 13), ("subscription", "EMPTY", 0)}
    wait_for(lambda: in_table(target, "ExtraordinaryRides", ids) == ids, what="the redriven rides processed")
    drained = wait_drained(endpoints)
    assert {s["service"]: s["dlq"] for s in drained["services"]}["ExtraordinaryRides"] == 0
    items = target.client("dynamodb").scan(TableName=service.table_name)["Items"]
    assert sorted(i["rideId"]["S"] for i in items if i["rideId"]["S"] in ids) == sorted(ids)  # once each


def test_a_subscription_dlq_is_redriven_the_same_way(endpoints: Path, target: Target):
    service = target.service("CustomerAccounting")
    sqs = target.client("sqs")
    customer = f"redriven-{uuid.uuid4()}"  # an account of its own: its balance counts these rides only
    rides = [{**new_ride(fare=10.25 + n, distance=5), "customer": customer} for n in range(5)]
    for ride in [*rides, rides[0]]:  # as SNS leaves a message it could not deliver; the first one twice
        sqs.send_message(QueueUrl=service.subscription_dlq_url, MessageBody=ride_message(ride),
                         MessageAttributes=ride_attributes(ride))
    ids = {r["id"] for r in rides}
    result = run_cli(endpoints, "dlq", "redrive", "--json")  # every service
    assert result.exit_code == 0, result.output
    moved = {(r["service"], r["kind"]): r["moved"] for r in json.loads(result.stdout)}
    assert moved[("CustomerAccounting", "subscription")] == 6 and sum(moved.values()) == 6
    wait_for(lambda: in_table(target, "CustomerAccounting", ids) == ids, what="the redriven rides processed")
    drained = wait_drained(endpoints)
    assert [s["service"] for s in drained["services"]] == sorted(ALL)  # all() below is over the three
    assert all(s["subscription_dlq"] == 0 for s in drained["services"])
    # charged once each, the duplicate included: 10.25 + 11.25 + ... + 14.25
    account = target.client("dynamodb").get_item(TableName=service.accounts_table_name, ConsistentRead=True,
                                                 Key={"customer": {"S": customer}})["Item"]
    assert (account["balance"]["N"], account["rides"]["N"]) == ("61.25", "5")


def test_rides_republish_publishes_a_ride_left_pending(endpoints: Path, target: Target):
    ride = new_ride(fare=120, distance=45)
    item = {key: {"N": str(value)} if isinstance(value, (int, float)) else {"S": value} for key, value in ride.items()}
    item.update(status={"S": "PENDING"}, requestHash={"S": "h"}, createdAt={"N": str(int(time.time()) - 300)})
    table = target.output("RidesTableName")
    target.client("dynamodb").put_item(TableName=table, Item=item)  # stored, publish failed, client gave up

    listed = run_cli(endpoints, "rides", "pending", "--json")
    assert listed.exit_code == 0 and [r["id"] for r in json.loads(listed.stdout)] == [ride["id"]]
    assert json.loads(run_cli(endpoints, "rides", "pending", "--older-than", "600", "--json").stdout) == []
    result = run_cli(endpoints, "rides", "republish", "--json")
    assert result.exit_code == 0, result.output
    [republished] = json.loads(result.stdout)
    assert republished["id"] == ride["id"] and republished["marked"] and republished["message_id"]
    wait_for(lambda: all(in_table(target, s, {ride["id"]}) for s in ALL), what="the ride in all three services")
    stored = target.client("dynamodb").get_item(TableName=table, Key={"id": {"S": ride["id"]}})["Item"]
    assert stored["status"]["S"] == "PUBLISHED"
    assert json.loads(run_cli(endpoints, "rides", "pending", "--json").stdout) == []


def test_smoke_passes_on_the_local_cloud(target: Target):
    report = run_smoke(target, cases=tuple(c for c in CASES if c is not EVENT_JSON_RIDE), timeout=60)
    failed = [c for c in report.checks if not c.ok]
    assert report.ok, failed
    names = [c.name for c in report.checks]
    assert "workshop sample ride in exactly its tables" in names and "ride below the filter in exactly its tables" \
        in names and "no alarm in ALARM" in names


def test_make_smoke_passes_with_the_workshops_event_json_ride(endpoints: Path):
    """`make smoke` posts the workshop's event.json ride (numbers as strings), which is accepted, reaches exactly
    its tables and is PUBLISHED: fails if the case did not run, not merely if it ran and failed."""
    result = run_cli(endpoints, "smoke", "--json")
    report = json.loads(result.stdout)
    assert [c for c in report["checks"] if not c["ok"]] == [] and result.exit_code == 0
    checks = {c["name"]: c["ok"] for c in report["checks"]}
    case = EVENT_JSON_RIDE.name
    assert {f"POST {case} -> 201", f"{case} in exactly its tables", f"{case} PUBLISHED in the Rides table"} <= {
        name for name, ok in checks.items() if ok}, sorted(checks)


def test_a_firing_alarm_fails_smoke_and_watch_shows_the_transition(endpoints: Path, target: Target):
    """The local cloud evaluates alarms, so smoke's "no alarm in ALARM" can fail locally as it does on AWS."""
    sqs, cloudwatch, dlq = target.client("sqs"), target.client("cloudwatch"), target.services[0].dlq_url
    sqs.send_message(QueueUrl=dlq, MessageBody="a letter for the drill")
    try:
        wait_for(lambda: cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"], what="the DLQ alarm")
        report = run_smoke(target, cases=(), timeout=10)
        [check] = [c for c in report.checks if c.name == "no alarm in ALARM"]
        assert not check.ok and "DeadLettersAlarm" in check.detail and not report.ok
        transitions = snapshot(endpoints)["transitions"]
        assert any(t["new"] == "ALARM" and "DeadLettersAlarm" in t["alarm"] for t in transitions), transitions
    finally:
        sqs.purge_queue(QueueUrl=dlq)
    wait_for(lambda: not cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"], what="back to OK")
