"""A snapshot of every service: queue depth, oldest message, DLQs, consumer activity, alarms.

Queue and DLQ depths come from SQS `GetQueueAttributes` (exact on the local cloud, approximate on
AWS). The age of the oldest message and the consumer's invocations and concurrency come from
CloudWatch (`AWS/SQS` ApproximateAgeOfOldestMessage, `AWS/Lambda` Invocations and
ConcurrentExecutions) over the last `window` minutes, for both targets: whatever CloudWatch does
not have is None (shown as a dash), e.g. SQS metrics on the local cloud. The local cloud keeps no
message timestamps we could read without receiving the messages, which would count as a delivery
attempt and could push a message to its DLQ, so the oldest age is not computed there.

The stack's alarms are those named after the stack or notifying its alarm topic; each is
attributed to the service whose queue, DLQ or function its metric watches. Their latest state changes
come from DescribeAlarmHistory (the local cloud evaluates alarms as CloudWatch does, so they move there too).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ops.services import Service, queue_name

DEPTH_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"]
ALARM_STATES = ("ALARM", "INSUFFICIENT_DATA", "OK")


@dataclass
class ServiceSnapshot:
    service: str
    visible: int
    in_flight: int
    delayed: int
    oldest_age_seconds: float | None
    dlq: int | None
    subscription_dlq: int | None
    invocations: float | None
    concurrency: float | None
    alarms: dict[str, list[str]] = field(default_factory=dict)  # state -> alarm names

    @property
    def busy(self) -> bool:
        return bool(self.visible or self.in_flight or self.delayed)


@dataclass
class Transition:
    time: str
    alarm: str
    old: str
    new: str
    reason: str


@dataclass
class Snapshot:
    stack: str
    target: str
    time: str
    window_minutes: int
    services: list[ServiceSnapshot]
    other_alarms: dict[str, list[str]] = field(default_factory=dict)
    transitions: list[Transition] = field(default_factory=list)  # newest first

    @property
    def drained(self) -> bool:
        """No service queue has a message waiting, in flight or delayed (DLQs do not count)."""
        return not any(s.busy for s in self.services)

    @property
    def in_alarm(self) -> list[str]:
        return [*(a for s in self.services for a in s.alarms.get("ALARM", [])), *self.other_alarms.get("ALARM", [])]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drained": self.drained, "in_alarm": self.in_alarm}


def queue_depth(sqs: Any, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed) messages of a queue."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=DEPTH_ATTRIBUTES)["Attributes"]
    return tuple(int(attributes.get(name, 0)) for name in DEPTH_ATTRIBUTES)  # type: ignore[return-value]


def dead_letters(sqs: Any, url: str | None) -> int | None:
    """Messages in a DLQ, visible or being read."""
    if not url:
        return None
    visible, in_flight, delayed = queue_depth(sqs, url)
    return visible + in_flight + delayed


def _metric_queries(services: list[Service], period: int) -> list[dict[str, Any]]:
    queries = []
    for n, service in enumerate(services):
        specs = [(f"age{n}", "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName",
                  queue_name(service.queue_url), "Maximum")]
        if service.function_name:
            specs += [(f"inv{n}", "AWS/Lambda", "Invocations", "FunctionName", service.function_name, "Sum"),
                      (f"conc{n}", "AWS/Lambda", "ConcurrentExecutions", "FunctionName", service.function_name,
                       "Maximum")]
        for query_id, namespace, metric, dimension, value, stat in specs:
            queries.append({"Id": query_id, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": metric,
                           "Dimensions": [{"Name": dimension, "Value": value}]},
                "Period": period, "Stat": stat}})
    return queries


def cloudwatch_figures(cloudwatch: Any, services: list[Service], *, window_minutes: int,
                       now: dt.datetime) -> dict[str, float | None]:
    """Query id -> figure: the latest oldest-message age, the sum of invocations, the peak concurrency."""
    queries = _metric_queries(services, period=60)
    values: dict[str, list[tuple[dt.datetime, float]]] = {q["Id"]: [] for q in queries}
    start = now - dt.timedelta(minutes=window_minutes)
    for first in range(0, len(queries), 500):
        kwargs: dict[str, Any] = {"MetricDataQueries": queries[first:first + 500], "StartTime": start, "EndTime": now}
        while True:
            response = cloudwatch.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                values[result["Id"]] += list(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
            if not response.get("NextToken"):
                break
            kwargs["NextToken"] = response["NextToken"]
    figures: dict[str, float | None] = {}
    for query_id, points in values.items():
        if not points:
            figures[query_id] = None
        elif query_id.startswith("age"):
            figures[query_id] = max(points)[1]  # the latest datapoint
        elif query_id.startswith("inv"):
            figures[query_id] = sum(v for _, v in points)
        else:
            figures[query_id] = max(v for _, v in points)
    return figures


def stack_alarms(cloudwatch: Any, stack_name: str, alarm_topic_arn: str | None) -> list[dict[str, Any]]:
    """The stack's metric alarms: named after the stack, or notifying its alarm topic."""
    found = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        for alarm in page.get("MetricAlarms", []):
            actions = {*alarm.get("AlarmActions", []), *alarm.get("OKActions", [])}
            if alarm["AlarmName"].startswith(f"{stack_name}-") or (alarm_topic_arn and alarm_topic_arn in actions):
                found.append(alarm)
    return found


def latest_transitions(cloudwatch: Any, names: set[str], count: int = 5) -> list[Transition]:
    """The newest state changes of the alarms `names`, newest first."""
    found: list[Transition] = []
    for page in cloudwatch.get_paginator("describe_alarm_history").paginate(HistoryItemType="StateUpdate"):
        for item in page.get("AlarmHistoryItems", []):
            if item["AlarmName"] not in names:
                continue
            data = json.loads(item.get("HistoryData") or "{}")
            old, new = data.get("oldState", {}), data.get("newState", {})
            found.append(Transition(item["Timestamp"].isoformat(timespec="seconds"), item["AlarmName"],
                                    old.get("stateValue", "?"), new.get("stateValue", "?"), new.get("stateReason", "")))
            if len(found) >= count:
                return found
    return found


def _watched_values(alarm: dict[str, Any]) -> set[str]:
    dimensions = list(alarm.get("Dimensions", []))
    for query in alarm.get("Metrics", []):
        dimensions += query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
    return {d["Value"] for d in dimensions}


def owner(alarm: dict[str, Any], services: list[Service]) -> str | None:
    watched = _watched_values(alarm)
    for service in services:
        names = {queue_name(u) for u in (service.queue_url, service.dlq_url, service.subscription_dlq_url) if u}
        if watched & (names | ({service.function_name} if service.function_name else set())):
            return service.name
    return None


def snapshot(target: Any, *, window_minutes: int = 5,
             now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> Snapshot:
    sqs, cloudwatch = target.client("sqs"), target.client("cloudwatch")
    services = target.services
    moment = now()
    figures = cloudwatch_figures(cloudwatch, services, window_minutes=window_minutes, now=moment)
    alarms_by_owner: dict[str | None, dict[str, list[str]]] = {}
    alarms = stack_alarms(cloudwatch, target.stack_name, target.outputs.get("AlarmTopicArn"))
    for alarm in alarms:
        states = alarms_by_owner.setdefault(owner(alarm, services), {})
        states.setdefault(alarm.get("StateValue", "INSUFFICIENT_DATA"), []).append(alarm["AlarmName"])
    rows = []
    for n, service in enumerate(services):
        visible, in_flight, delayed = queue_depth(sqs, service.queue_url)
        rows.append(ServiceSnapshot(
            service=service.name, visible=visible, in_flight=in_flight, delayed=delayed,
            oldest_age_seconds=figures.get(f"age{n}"), dlq=dead_letters(sqs, service.dlq_url),
            subscription_dlq=dead_letters(sqs, service.subscription_dlq_url),
            invocations=figures.get(f"inv{n}"), concurrency=figures.get(f"conc{n}"),
            alarms=alarms_by_owner.get(service.name, {})))
    return Snapshot(stack=target.stack_name, target=target.kind, time=moment.isoformat(timespec="seconds"),
                    window_minutes=window_minutes, services=rows, other_alarms=alarms_by_owner.get(None, {}),
                    transitions=latest_transitions(cloudwatch, {a["AlarmName"] for a in alarms}))


def wait_until_drained(target: Any, *, timeout: float, quiet_polls: int = 2, interval: float = 1.0,
                       on_snapshot: Callable[[Snapshot], None] | None = None,
                       sleep: Callable[[float], None] | None = None,
                       clock: Callable[[], float] | None = None) -> bool:
    """Poll snapshots until every queue is empty `quiet_polls` times in a row; False on timeout."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline, quiet = clock() + timeout, 0
    while clock() < deadline:
        current = snapshot(target)
        if on_snapshot:
            on_snapshot(current)
        quiet = quiet + 1 if current.drained else 0
        if quiet >= quiet_polls:
            return True
        sleep(interval)
    return False
