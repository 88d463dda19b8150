"""The AWS/SNS metrics CloudWatch would show per topic (dimension TopicName): what the stack's "SNS failed"
alarm and its dashboard read.

On AWS a topic publishes NumberOfMessagesPublished and PublishSize for each message published, and per
subscription a message reaches one outcome: NumberOfNotificationsDelivered, NumberOfNotificationsFailed
(then ...RedrivenToDlq or ...FailedToRedriveToDlq), or NumberOfNotificationsFilteredOut, also
split by why: -MessageAttributes or -MessageBody (the filter policy's scope said no) and
-NoMessageAttributes (an attribute policy, a message with none). Published messages are counted at
moto's Topic.publish; outcomes are told by local/sns/delivery.py. Only topics with activity publish.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from moto.sns.models import Topic

from local.cloudwatch.datums import dimensions, events, statistic_set

NAMESPACE = "AWS/SNS"
OUTCOMES = {"delivered": ["NumberOfNotificationsDelivered"], "failed": ["NumberOfNotificationsFailed"],
            "redriven": ["NumberOfNotificationsRedrivenToDlq"],
            "redrive_failed": ["NumberOfNotificationsFailedToRedriveToDlq"],
            **{f"filtered:{why}": ["NumberOfNotificationsFilteredOut", f"NumberOfNotificationsFilteredOut-{why}"]
               for why in ("MessageAttributes", "MessageBody", "NoMessageAttributes")}}
_installed: dict[str, Any] = {}


class TopicMetrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()  # (topic name, metric) -> count
        self.sizes: dict[str, list[int]] = {}  # topic name -> [count, sum, min, max] of PublishSize

    def published(self, topic_arn: str, size: int) -> None:
        topic = topic_arn.rsplit(":", 1)[-1]
        with self.lock:
            self.counts[(topic, "NumberOfMessagesPublished")] += 1
            s = self.sizes.get(topic)
            if s is None:
                self.sizes[topic] = [1, size, size, size]
            else:
                s[0], s[1], s[2], s[3] = s[0] + 1, s[1] + size, min(s[2], size), max(s[3], size)

    def outcome(self, topic_arn: str, outcome: str) -> None:
        """A delivery listener (local/sns/delivery.py): one subscription's outcome for one message."""
        topic = topic_arn.rsplit(":", 1)[-1]
        with self.lock:
            for metric in OUTCOMES.get(outcome, ()):
                self.counts[(topic, metric)] += 1

    def drain(self, now: datetime | None = None) -> list[dict[str, Any]]:
        at = now or datetime.now(UTC)
        with self.lock:
            counts, sizes = self.counts, self.sizes
            self.counts, self.sizes = Counter(), {}
        data = [events(metric, dimensions(TopicName=topic), at, count) for (topic, metric), count in counts.items()]
        data += [statistic_set("PublishSize", dimensions(TopicName=topic), at, "Bytes", *s)
                 for topic, s in sizes.items()]
        return data


def install(metrics: TopicMetrics) -> None:
    """Count every message published to a topic of moto's SNS into `metrics`."""
    _installed["metrics"] = metrics
    if "original" in _installed:
        return
    original = _installed["original"] = Topic.publish

    @functools.wraps(original)
    def publish(self: Topic, message: str, *args: Any, **kwargs: Any) -> str:
        message_id = original(self, message, *args, **kwargs)
        _installed["metrics"].published(self.arn, len(message.encode()))
        return message_id

    Topic.publish = publish  # type: ignore[method-assign]


def uninstall() -> None:
    if "original" in _installed:
        Topic.publish = _installed.pop("original")  # type: ignore[method-assign]
    _installed.clear()
