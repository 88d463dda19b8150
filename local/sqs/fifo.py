"""FIFO queues and topics as SNS and SQS document them, for ordering "fifo": deduplication, and retries in order.

A message sent (SQS) or published (SNS) with the deduplication id of one accepted in the last 5 minutes is
accepted again and not delivered, whether or not the first is still in the queue; the answer names the
first (its message id). With content-based deduplication the id is the SHA-256 of the body.
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html,
https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html)

moto deduplicates an SQS send only against the messages still in the queue, by scanning it: a ride
redelivered after its first copy was processed and deleted reaches the consumer again. And moto's SNS FIFO
topic does not deduplicate at all. Here both keep a 5-minute window per queue and per topic. And a FIFO
topic's Publish answers the message's `SequenceNumber` (moto answers none), increasing per topic and so
within each message group, as SNS's does; a deduplicated publish answers the first one's.

And a message group returns in order. When several in-flight messages of one group turn visible again
together (a failed batch: the failed record and the rest of its group), moto's receive still counts the
later ones as in flight while it looks at the first, skips it, and hands out the second: the group's order
is lost exactly on a retry. And a receive reads the clock once per message, so a batch whose timeouts end
a few milliseconds apart (they were set one after another) turns visible in the middle of a receive: the
first messages are skipped while the last still hold the group, then a later message of the group is
handed out. Here a receive from a FIFO queue reads the clock once (SQS answers a request at one instant),
and first lets go of every message whose visibility timeout has ended, so only messages still invisible
hold their group.

Moves are not sends: a DLQ redrive (a message move task) keeps the message's group and deduplication ids and
is never deduplicated (`moving()`), and moto's own move to a DLQ after maxReceiveCount does not send.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.sns.models import Topic
from moto.sns.responses import SNSResponse
from moto.sqs import models as sqs_models
from moto.sqs.models import SQSBackend

from local.sqs.queues import QUEUE_LOCK, epoch_millis

WINDOW_SECONDS = 300  # SNS and SQS: the deduplication interval
window_clock = time.monotonic  # what the deduplication windows read (tests move it)
LONG_POLL_STEP_SECONDS = 0.05  # between two attempts of a FIFO long poll (as moto_patches' receive)
_originals: dict[str, Callable[..., Any]] = {}
_lock = threading.RLock()  # a FIFO publish sends to FIFO queues under it
_state = threading.local()


class DeduplicationWindow:
    """What was accepted under each deduplication id in the last WINDOW_SECONDS."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock or (lambda: window_clock())
        self.accepted: OrderedDict[str, tuple[float, Any]] = OrderedDict()  # oldest first

    def first(self, key: str) -> Any | None:
        now = self.clock()
        while self.accepted:
            oldest, (at, _) = next(iter(self.accepted.items()))
            if now - at < WINDOW_SECONDS:
                break
            del self.accepted[oldest]
        found = self.accepted.get(key)
        return None if found is None else found[1]

    def accept(self, key: str, value: Any) -> None:
        self.accepted[key] = (self.clock(), value)


_windows: dict[tuple[str, str], DeduplicationWindow] = {}  # (kind, ARN) -> window
_sequences: dict[str, int] = {}  # FIFO topic ARN -> the last sequence number it gave
_sequence_of: dict[str, str] = {}  # message id -> its sequence number, until its Publish is answered
SEQUENCE_BASE = 10**19  # 20 digits, as SNS's sequence numbers have


def _window(kind: str, arn: str) -> DeduplicationWindow:
    return _windows.setdefault((kind, arn), DeduplicationWindow())


def _on(flag: Any) -> bool:
    """moto keeps ContentBasedDeduplication as a bool or as the string the API was given."""
    return str(flag).lower() == "true"


def _key(deduplication_id: str | None, body: str, content_based: bool) -> str | None:
    if deduplication_id:
        return deduplication_id
    return hashlib.sha256(body.encode()).hexdigest() if content_based else None


@contextmanager
def moving() -> Iterator[None]:
    """Sends in this block are moves (a redrive): never deduplicated."""
    _state.moving = True
    try:
        yield
    finally:
        _state.moving = False


def _send_message(self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
    send = _originals["SQSBackend.send_message"]
    queue = self.get_queue(queue_name)
    if not queue.fifo_queue or getattr(_state, "moving", False):
        return send(self, queue_name, message_body, *args, **kwargs)
    key = _key(kwargs.get("deduplication_id"), message_body, _on(getattr(queue, "content_based_deduplication", False)))
    if key is None:  # moto answers the missing id
        return send(self, queue_name, message_body, *args, **kwargs)
    with _lock:
        window = _window("sqs", queue.queue_arn)
        first = window.first(key)
        if first is not None:
            return first  # accepted, not delivered: the answer is the first message's
        message = send(self, queue_name, message_body, *args, **kwargs)
        window.accept(key, message)
        return message


def _publish(self: Topic, message: str, *args: Any, **kwargs: Any) -> str:
    publish = _originals["Topic.publish"]
    if not self.fifo_topic:
        return publish(self, message, *args, **kwargs)
    key = _key(kwargs.get("deduplication_id"), message, _on(self.content_based_deduplication))
    if key is None:
        return publish(self, message, *args, **kwargs)
    with _lock:
        window = _window("sns", self.arn)
        first = window.first(key)
        if first is not None:
            _sequence_of[str(first[0])] = first[1]
            return str(first[0])
        message_id = publish(self, message, *args, **kwargs)
        _sequences[self.arn] = _sequences.get(self.arn, 0) + 1
        sequence = str(SEQUENCE_BASE + _sequences[self.arn])
        window.accept(key, (message_id, sequence))
        _sequence_of[message_id] = sequence
        return message_id


def _publish_answer(self: SNSResponse) -> Any:
    """moto's Publish answer, with the FIFO topic's sequence number of the message."""
    answer = _originals["SNSResponse.publish"](self)
    result = getattr(answer, "result", None)
    if isinstance(result, dict) and "MessageId" in result:
        with _lock:
            sequence = _sequence_of.pop(str(result["MessageId"]), None)
        if sequence is not None:
            result["SequenceNumber"] = sequence
    return answer


def _now_millis() -> float:
    """moto's SQS clock: this thread's receive instant while it receives from a FIFO queue, else the time.

    moto's own built two datetimes per call, and SQS asks it once per message it looks at
    (`Message.visible`): a tenth of the AWS process's time at load (`epoch_millis` is the same number)."""
    frozen = getattr(_state, "now", None)
    return epoch_millis() if frozen is None else frozen


def _receive_message(self: SQSBackend, queue_name: str, count: int, wait_seconds_timeout: int,
                     visibility_timeout: int, message_attribute_names: list[str] | None = None) -> Any:
    """A FIFO receive: one attempt at one instant, under the lock every message operation takes; a long poll
    waits between attempts outside it (so a receive waiting on an empty queue holds up no send)."""
    receive = _originals["SQSBackend.receive_message"]
    if not self.get_queue(queue_name).fifo_queue:
        return receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names)
    deadline = time.monotonic() + (wait_seconds_timeout or 0)
    while True:
        with QUEUE_LOCK:  # the lock moto_patches holds around every message operation (reentrant)
            queue = self.get_queue(queue_name)
            _state.now = epoch_millis()
            try:
                queue._pending_messages -= {m for m in queue._pending_messages if m.visible}
                messages = receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            finally:
                _state.now = None
        if messages or time.monotonic() >= deadline:
            return messages
        time.sleep(LONG_POLL_STEP_SECONDS)


def install() -> None:
    """Deduplicate FIFO sends and publishes, keep retried groups in order (idempotent); after moto_patches,
    so the send wrapped is its atomic one."""
    if _originals:
        return
    _originals["SQSBackend.send_message"] = SQSBackend.send_message
    _originals["Topic.publish"] = Topic.publish
    _originals["SNSResponse.publish"] = SNSResponse.publish
    _originals["SQSBackend.receive_message"] = SQSBackend.receive_message
    _originals["sqs_models.unix_time_millis"] = sqs_models.unix_time_millis
    SQSBackend.send_message = _send_message  # type: ignore[method-assign]
    Topic.publish = _publish  # type: ignore[method-assign]
    SNSResponse.publish = _publish_answer  # type: ignore[method-assign]
    SQSBackend.receive_message = _receive_message  # type: ignore[method-assign]
    sqs_models.unix_time_millis = _now_millis


def uninstall() -> None:
    if _originals:
        SQSBackend.send_message = _originals.pop("SQSBackend.send_message")  # type: ignore[method-assign]
        Topic.publish = _originals.pop("Topic.publish")  # type: ignore[method-assign]
        SNSResponse.publish = _originals.pop("SNSResponse.publish")  # type: ignore[method-assign]
        SQSBackend.receive_message = _originals.pop("SQSBackend.receive_message")  # type: ignore[method-assign]
        sqs_models.unix_time_millis = _originals.pop("sqs_models.unix_time_millis")
    _windows.clear()
    _sequences.clear()
    _sequence_of.clear()
