"""`wildrydes drill` end to end: every game day on ONE local cloud (TIME_SCALE 0.01), one after the other,
each leaving it clean for the next (the next one's steady-state check would fail otherwise)."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.local.conftest import wait_for
from tests.ops.conftest import run_cli
from tests.ops.test_end_to_end import snapshot

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)


def drill(endpoints: Path, *args: str) -> dict[str, Any]:
    result = run_cli(endpoints, "drill", *args, "--yes", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["passed"] else 1), result.output
    return report


def wait_quiet(endpoints: Path, seconds: float = 5.0) -> None:
    """Until no alarm has been in ALARM for `seconds`: an alarm whose metric saw a letter before its purge
    may go to ALARM an evaluation or two later (a scaled minute is 0.6 s here), after a first look found none."""
    quiet_since = time.monotonic()

    def quiet() -> bool:
        nonlocal quiet_since
        if snapshot(endpoints)["in_alarm"]:
            quiet_since = time.monotonic()
        return time.monotonic() - quiet_since >= seconds

    wait_for(quiet, timeout=90, what=f"no alarm in ALARM for {seconds} s")


def assert_passed(report: dict[str, Any], *metrics: str) -> None:
    assert report["passed"], (report["reason"], report["steps"])
    assert report["expected_alarms"]  # else the checks below would pass on nothing
    fired = {a["name"]: a for a in report["alarms_fired"]}
    assert set(report["expected_alarms"]) <= set(fired)
    assert sorted(fired[name]["metric"] for name in report["expected_alarms"]) == sorted(metrics)
    for alarm in report["alarms_fired"]:
        assert alarm["seconds_to_alarm"] > 0 and alarm["seconds_to_ok"] is not None
    told = {(n["alarm"], n["state"]) for n in report["notifications"]}
    assert {(name, "ALARM") for name in report["expected_alarms"]} <= told
    assert report["lost"] == 0 and report["in_dlq"] == 0 and report["rides_sent"] > 0
    assert [s["name"] for s in report["steps"] if not s["name"].startswith(("ALARM", "OK"))] == [
        "steady state", "listening on the alarm topic", "injected", "notified", "rolled back", "reconciled"]


def test_subscriber_outage(endpoints: Path):
    report = drill(endpoints, "subscriber-outage", "--service", "CustomerNotification")
    assert_passed(report, "AWS/SQS ApproximateAgeOfOldestMessage", "AWS/SQS ApproximateNumberOfMessagesVisible")
    assert report["service"] == "CustomerNotification" and report["rides_sent"] > 100


def test_poison(endpoints: Path, target):
    report = drill(endpoints, "poison", "--service", "ExtraordinaryRides")
    assert_passed(report, "AWS/SQS ApproximateNumberOfMessagesVisible")
    assert report["details"] == {"poison_removed": 3, "other_dead_letters_left": 0}
    dlq = target.service("ExtraordinaryRides").dlq_url
    assert target.client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"


@pytest.mark.parametrize("args", [["poison"], ["nope", "--yes"]])
def test_without_yes_and_a_terminal_it_refuses(endpoints: Path, args: list[str]):
    result = run_cli(endpoints, "drill", *args)
    assert result.exit_code == 2
    assert ("pass --yes" if args == ["poison"] else "no drill 'nope'") in result.output


def test_a_drill_on_a_stack_not_in_a_steady_state_changes_nothing(endpoints: Path, target):
    sqs, dlq = target.client("sqs"), target.service("CustomerAccounting").dlq_url
    sqs.send_message(QueueUrl=dlq, MessageBody="someone else's dead letter")
    try:
        report = drill(endpoints, "subscriber-outage")
    finally:
        sqs.purge_queue(QueueUrl=dlq)  # and its alarm, if it saw the letter, back to OK for whatever runs next
        wait_quiet(endpoints)
    assert not report["passed"] and "CustomerAccounting dlq DLQ holds 1" in report["reason"]
    assert [s["name"] for s in report["steps"]] == ["steady state", "stopped"]


def metrics_of(*modules: str) -> pytest.MarkDecorator:
    """These drills' alarms read metrics the local cloud publishes once AWS/SNS and AWS/ApiGateway exist there."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"the local cloud publishes no such metrics yet ({missing})")


@metrics_of("local.sns.metrics")
def test_delivery_denied(endpoints: Path, target):
    report = drill(endpoints, "delivery-denied", "--service", "CustomerAccounting")
    assert_passed(report, "AWS/SNS NumberOfNotificationsFailed", "AWS/SQS ApproximateNumberOfMessagesVisible")
    assert report["details"]["redriven"] == report["rides_sent"]


@metrics_of("local.apigateway.metrics")
def test_producer_failure(endpoints: Path):
    report = drill(endpoints, "producer-failure")
    assert_passed(report, "AWS/ApiGateway 5XXError", "AWS/Lambda Throttles")
    statuses = report["details"]["statuses"]
    assert statuses["201"] == report["rides_sent"] == 10 and statuses["500"] >= 10  # each ride refused, then stored
