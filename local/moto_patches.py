"""Two narrow fixes to moto (5.2)'s SQS for the local cloud, whose pollers call it from many threads.

1. Atomic queue operations. moto's SQS is not safe under concurrent calls on one queue, and the
   local cloud makes them (several pollers per queue, SNS fan-out, deletes). Seen here: two receives
   racing to move the same message to the DLQ, the second failing with a 500 *after* marking other
   messages received, which then stay invisible for the whole visibility timeout with no consumer;
   and `delete_message` rebuilding the message list while a send appends to the old one. Real SQS
   is atomic per call, so every message operation of the SQS backend here runs under one lock (a
   long poll waits outside it, between non-blocking attempts).

2. Sends and receives that scan the queue once at most, not once per attribute.

   moto's `send_message` (and `Queue.add_message`) reads one flag with
   `queue.attributes.get("ContentBasedDeduplication")`, and `receive_message` reads the retention
   period through `get_queue_attributes` for every message it returns; each time, `Queue.attributes`
   computes every attribute, including three approximate message counts that each scan the whole
   queue. Building or draining a backlog of N messages therefore costs O(N^2). During a send or a
   receive, those three counts return 0 instead of scanning: the dictionaries they land in are read
   for one other value and thrown away. Everywhere else (GetQueueAttributes, the demo's depths) they
   are exact.

`tests/local/test_moto_patches.py` shows moto still needs both (so this file is still needed) and
that counts stay exact; `make bench` measures what the second buys (bench/results/).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.sqs.models import Queue, SQSBackend

from local import move_tasks

COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
          "approximate_number_of_messages_delayed")
_counts_skipped = threading.local()
_originals: dict[str, Any] = {}
_queue_lock = threading.RLock()
ATOMIC = ("send_message", "send_message_batch", "delete_message", "delete_message_batch",
          "change_message_visibility", "change_message_visibility_batch", "purge_queue", "get_queue_attributes")
LONG_POLL_STEP_SECONDS = 0.05


def _count_property(name: str, original: property) -> property:
    def count(queue: Queue) -> int:
        return 0 if getattr(_counts_skipped, "depth", 0) else original.fget(queue)  # type: ignore[misc]
    return property(count)


def _without_counts(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        _counts_skipped.depth = getattr(_counts_skipped, "depth", 0) + 1
        try:
            return method(*args, **kwargs)
        finally:
            _counts_skipped.depth -= 1
    return call


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _queue_lock:
            return method(*args, **kwargs)
    return locked


def _atomic_receive(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def receive(self: SQSBackend, queue_name: str, count: int, wait_seconds_timeout: int,
                visibility_timeout: int, message_attribute_names: list[str] | None = None) -> Any:
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with _queue_lock:
                messages = method(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(LONG_POLL_STEP_SECONDS)
    return receive


def apply() -> None:
    """Install both fixes (idempotent)."""
    if _originals:
        return
    for name in COUNTS:
        _originals[f"Queue.{name}"] = getattr(Queue, name)
        setattr(Queue, name, _count_property(name, _originals[f"Queue.{name}"]))
    for name in ATOMIC:
        _originals[f"SQSBackend.{name}"] = getattr(SQSBackend, name)
        wrapped = _atomic(_originals[f"SQSBackend.{name}"])
        setattr(SQSBackend, name, _without_counts(wrapped) if name == "send_message" else wrapped)
    _originals["SQSBackend.receive_message"] = SQSBackend.receive_message
    SQSBackend.receive_message = _atomic_receive(  # type: ignore[method-assign]
        _without_counts(SQSBackend.receive_message))
    move_tasks.install()


def remove() -> None:
    move_tasks.uninstall()
    for key, original in _originals.items():
        owner, name = key.split(".")
        setattr(Queue if owner == "Queue" else SQSBackend, name, original)
    _originals.clear()


@contextmanager
def removed() -> Iterator[None]:
    """moto as it ships, for the duration (tests and benchmarks compare both)."""
    installed = bool(_originals)
    remove()
    try:
        yield
    finally:
        if installed:
            apply()
