"""The AWS/SQS metrics CloudWatch would show for the local queues (dimension QueueName): what the stack's
queue alarms, its dashboard and `wildrydes watch` read.

On AWS every active queue publishes, every minute: ApproximateNumberOfMessagesVisible, ...NotVisible,
...Delayed and ApproximateAgeOfOldestMessage (read from the queue), and NumberOfMessagesSent,
...Received, ...Deleted, NumberOfEmptyReceives and SentMessageSize (counted). A queue is active while
it holds messages and for six hours after any action on it; an idle, empty queue publishes nothing.

The counts come from moto's SQS backend, so every caller is counted the same way: clients through the
API, the Lambda pollers in process (local/sqs/queues.py QueueAccess) and SNS deliveries. A message the
redrive policy moves to a dead-letter queue is not a send (moto moves it without one, and AWS does not
count it in the DLQ's NumberOfMessagesSent). Counting is a few increments under a lock per call.
Under TIME_SCALE the local cloud's clock runs 1/time_scale times faster (visibility timeouts and alarm
periods shrink), so the oldest message's age is told on that clock: 3 s at 0.01 is 300 s, as its alarm reads it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.sqs.models import SQSBackend, sqs_backends

from local.cloudwatch.datums import dimensions, statistic_set
from local.options import ACCOUNT
from local.sqs.queues import QUEUE_LOCK, epoch_millis

NAMESPACE = "AWS/SQS"
ACTIVE_SECONDS = 6 * 3600  # a queue nobody touched for six hours, and empty, is inactive
_installed: dict[str, Any] = {}
_inside = threading.local()  # within a counted call: what it calls is not counted again


@dataclass
class _Counts:
    sent: int = 0
    received: int = 0
    deleted: int = 0
    empty_receives: int = 0
    sizes: int = 0  # the bytes of the messages sent
    smallest: int = 0
    largest: int = 0


def message_size(body: str, attributes: dict[str, Any] | None) -> int:
    """A message's size as SQS counts it: the body and each attribute's name, type and value, in bytes."""
    size = len(body.encode())
    for name, attribute in (attributes or {}).items():
        value = attribute.get("StringValue") or attribute.get("BinaryValue") or ""
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode()) + len(
            value if isinstance(value, bytes) else str(value).encode())
    return size


class QueueMetrics:
    """Per queue name: the counts since the last collect, and when it was last touched."""

    def __init__(self, region: str, time_scale: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.backend: SQSBackend = sqs_backends[ACCOUNT][region]
        self.clock, self.time_scale = clock, time_scale
        self.lock = threading.Lock()
        self.counts: dict[str, _Counts] = {}
        self.touched: dict[str, float] = {}  # a queue first seen counts as touched then (it was just created)

    def _of(self, queue: str) -> _Counts:
        self.touched[queue] = self.clock()
        return self.counts.setdefault(queue, _Counts())

    def sent(self, queue: str, size: int) -> None:
        with self.lock:
            c = self._of(queue)
            c.smallest = size if not c.sent else min(c.smallest, size)
            c.largest = max(c.largest, size)
            c.sent += 1
            c.sizes += size

    def received(self, queue: str, count: int) -> None:
        with self.lock:
            c = self._of(queue)
            c.received += count
            c.empty_receives += not count

    def deleted(self, queue: str, count: int) -> None:
        with self.lock:
            self._of(queue).deleted += count

    def collect(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """MetricData of every active queue (then count afresh)."""
        at, clock, millis = now or datetime.now(UTC), self.clock(), epoch_millis()
        data: list[dict[str, Any]] = []
        for name in list(self.backend.queues):
            with QUEUE_LOCK:
                messages = list(self.backend.get_queue(name)._messages)
            with self.lock:
                counts = self.counts.pop(name, _Counts())
                touched = self.touched.setdefault(name, clock)
            if not messages and clock - touched > ACTIVE_SECONDS:
                continue
            on = dimensions(QueueName=name)
            delayed = sum(1 for m in messages if m.delayed)
            visible = sum(1 for m in messages if m.visible and not m.delayed)
            oldest = (millis - min(m.sent_timestamp for m in messages)) / 1000 / self.time_scale if messages else 0.0
            for metric, value, unit in (
                    ("ApproximateNumberOfMessagesVisible", visible, "Count"),
                    ("ApproximateNumberOfMessagesNotVisible", len(messages) - visible - delayed, "Count"),
                    ("ApproximateNumberOfMessagesDelayed", delayed, "Count"),
                    ("ApproximateAgeOfOldestMessage", round(oldest, 3), "Seconds"),
                    ("NumberOfMessagesSent", counts.sent, "Count"),
                    ("NumberOfMessagesReceived", counts.received, "Count"),
                    ("NumberOfMessagesDeleted", counts.deleted, "Count"),
                    ("NumberOfEmptyReceives", counts.empty_receives, "Count")):
                data.append({"MetricName": metric, "Dimensions": on, "Timestamp": at, "Value": float(value),
                             "Unit": unit})
            if counts.sent:
                data.append(statistic_set("SentMessageSize", on, at, "Bytes", counts.sent, counts.sizes,
                                          counts.smallest, counts.largest))
        return data


# -- counting in moto's SQS backend ------------------------------------------------------------------------------
def _counting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def counted(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        outermost = not getattr(_inside, "call", False)  # moto's batch delete may delete one by one
        _inside.call = True
        try:
            result = method(self, queue_name, *args, **kwargs)
        finally:
            _inside.call = not outermost
        metrics: QueueMetrics | None = _installed.get("metrics")
        if metrics is not None and outermost:
            if name == "send_message":
                body = args[0] if args else kwargs["message_body"]
                attributes = args[1] if len(args) > 1 else kwargs.get("message_attributes")
                metrics.sent(queue_name, message_size(body, attributes))
            elif name == "receive_message":
                metrics.received(queue_name, len(result))
            elif name == "delete_message":
                metrics.deleted(queue_name, 1)
            else:  # delete_message_batch: (ids deleted, errors)
                metrics.deleted(queue_name, len(result[0]))
        return result
    return counted


COUNTED = ("send_message", "receive_message", "delete_message", "delete_message_batch")


def install(metrics: QueueMetrics) -> None:
    """Count every send, receive and delete of moto's SQS into `metrics` (after moto_patches.apply)."""
    _installed["metrics"] = metrics
    for name in COUNTED:
        if name not in _installed:
            _installed[name] = getattr(SQSBackend, name)
            setattr(SQSBackend, name, _counting(name, _installed[name]))


def uninstall() -> None:
    for name in COUNTED:
        if name in _installed:
            setattr(SQSBackend, name, _installed.pop(name))
    _installed.clear()
