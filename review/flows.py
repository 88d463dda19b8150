"""One row per message flow (topic -> subscription -> queue -> consumer), with AWS guidance checks.

Values are what the template sets, or the service default where it sets nothing (SQS: visibility
30 s, retention 4 days; Lambda: timeout 3 s, memory 128 MB; SQS event source: batch 10, window 0 s).
Guidance flagged: visibility timeout < 6 x function timeout + batching window; maxReceiveCount < 5;
a dead-letter queue whose retention is not longer than its source queue's (redriven messages keep
their original enqueue time); no dead-letter queue for the queue or for the subscription.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from review.alarms import Alarm
from review.filter_policy import render_filter_policy
from review.template import Template

QUEUE_DEFAULTS = {"VisibilityTimeout": 30, "MessageRetentionPeriod": 345_600}
FUNCTION_DEFAULTS = {"Timeout": 3, "MemorySize": 128}
MAPPING_DEFAULTS = {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0}
MIN_RECEIVE_COUNT = 5
VISIBILITY_FACTOR = 6


@dataclass(frozen=True, kw_only=True)
class Flow:
    service: str
    topic: str
    queue: str
    filter_policy: str | None
    raw_delivery: bool
    visibility_timeout: Any
    retention: Any
    max_receive_count: Any
    dlq_retention: Any
    subscription_dlq: bool
    batch_size: Any
    batching_window: Any
    max_concurrency: Any
    function: str | None
    function_timeout: Any
    function_memory: Any
    alarms: tuple[str, ...]
    flags: tuple[str, ...]
    resource_ids: tuple[str, ...] = ()  # logical ids of its queue, DLQs and function

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"alarms": list(self.alarms), "flags": list(self.flags),
                               "resource_ids": list(self.resource_ids)}


def duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return str(seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _guidance(flow_values: dict[str, Any]) -> list[str]:
    flags = []
    visibility, timeout = _number(flow_values["visibility"]), _number(flow_values["timeout"])
    window = _number(flow_values["window"]) or 0
    if visibility is not None and timeout is not None and visibility < VISIBILITY_FACTOR * timeout + window:
        flags.append(f"visibility timeout {duration(flow_values['visibility'])} is under {VISIBILITY_FACTOR} x "
                     f"function timeout {duration(flow_values['timeout'])} + batching window "
                     f"{duration(flow_values['window'])} = {duration(int(VISIBILITY_FACTOR * timeout + window))}")
    receives = _number(flow_values["receives"])
    if flow_values["dlq"] is None:
        flags.append("the queue has no dead-letter queue (redrive policy)")
    elif receives is not None and receives < MIN_RECEIVE_COUNT:
        flags.append(f"maxReceiveCount {flow_values['receives']} is under {MIN_RECEIVE_COUNT}")
    retention, dlq_retention = _number(flow_values["retention"]), _number(flow_values["dlq_retention"])
    if retention is not None and dlq_retention is not None and dlq_retention <= retention:
        flags.append(f"DLQ retention {duration(flow_values['dlq_retention'])} is not longer than the queue's "
                     f"{duration(flow_values['retention'])}")
    if not flow_values["subscription_dlq"]:
        flags.append("the subscription has no dead-letter queue (SNS drops what it cannot deliver)")
    return flags


def read_flows(template: Template, alarms: list[Alarm]) -> list[Flow]:
    mappings = {template.target(p.get("EventSourceArn")): p
                for _, m in template.of_type("AWS::Lambda::EventSourceMapping") for p in [m.get("Properties") or {}]}
    flows = []
    for _, subscription in template.of_type("AWS::SNS::Subscription"):
        props = subscription.get("Properties") or {}
        queue = template.target(props.get("Endpoint"))
        if props.get("Protocol") != "sqs" or queue is None or template.type_of(queue) != "AWS::SQS::Queue":
            continue
        queue_props = QUEUE_DEFAULTS | template.props(queue)
        redrive = queue_props.get("RedrivePolicy") or {}
        dlq = template.target(redrive.get("deadLetterTargetArn"))
        dlq_props = QUEUE_DEFAULTS | template.props(dlq) if dlq else {}
        mapping = MAPPING_DEFAULTS | mappings.get(queue, {}) if queue in mappings else {}
        function = template.target(mapping.get("FunctionName")) if mapping else None
        function_props = FUNCTION_DEFAULTS | template.props(function) if function else {}
        sub_dlq = template.target((props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
        values = {"visibility": queue_props["VisibilityTimeout"], "timeout": function_props.get("Timeout"),
                  "window": mapping.get("MaximumBatchingWindowInSeconds", 0), "dlq": dlq,
                  "receives": redrive.get("maxReceiveCount"), "retention": queue_props["MessageRetentionPeriod"],
                  "dlq_retention": dlq_props.get("MessageRetentionPeriod"), "subscription_dlq": sub_dlq is not None}
        watched = tuple(r for r in (queue, dlq, sub_dlq, function) if r)
        flows.append(Flow(
            service=template.group(queue) or template.name(queue), topic=template.name(template.target(
                props.get("TopicArn")) or "?"), queue=template.name(queue),
            filter_policy=render_filter_policy(props["FilterPolicy"]) if props.get("FilterPolicy") else None,
            raw_delivery=props.get("RawMessageDelivery") in (True, "true"),
            visibility_timeout=values["visibility"], retention=values["retention"],
            max_receive_count=values["receives"], dlq_retention=values["dlq_retention"],
            subscription_dlq=sub_dlq is not None,
            batch_size=mapping.get("BatchSize"), batching_window=mapping.get("MaximumBatchingWindowInSeconds"),
            max_concurrency=(mapping.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            function=template.name(function) if function else None,
            function_timeout=function_props.get("Timeout"), function_memory=function_props.get("MemorySize"),
            alarms=tuple(f"{template.short_name(a.watches)}: {a.metric.split(' ')[-1]} {a.condition}"
                         for a in alarms if a.watches in watched),
            flags=tuple(_guidance(values)), resource_ids=watched))
    return flows
