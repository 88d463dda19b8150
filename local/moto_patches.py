"""Narrow fixes to moto (5.2)'s SQS and server, for a local cloud that many threads call at load.

1. Atomic queue operations. moto's SQS is not safe under concurrent calls on one queue, and the
   local cloud makes them (several pollers per queue, SNS fan-out, deletes). Seen here: two receives
   racing to move the same message to the DLQ, the second failing with a 500 *after* marking other
   messages received, which then stay invisible for the whole visibility timeout with no consumer;
   and `delete_message` rebuilding the message list while a send appends to the old one. Real SQS
   is atomic per call, so every message operation of the SQS backend here runs under one lock (a
   long poll waits outside it, between non-blocking attempts).

2. No pass over the whole queue where one is not needed. moto computes every queue attribute,
   including three approximate counts that each scan the queue, to read one flag on each send and
   the retention period of each received message; `receive_message` first lists every visible
   message to take ten; `delete_message` makes two passes per receipt handle; and
   `get_queue_attributes` recomputes all attributes once per name asked for. So building, draining
   or watching a backlog of N messages cost O(N) per call and O(N^2) in all. Here:
   - during a send or a receive, the three counts are 0 (the dictionaries they land in are read for
     one other value and thrown away); everywhere else they are exact;
   - a receive walks the queue lazily and stops at the `count`-th visible message;
   - a batch delete makes one pass for the whole batch;
   - one GetQueueAttributes call computes the attributes once.

3. Per-call work computed once. For every request moto's server lists its own package directory
   to find the backend (`list_of_moto_modules`: an `os.listdir` and ~150 `isdir` calls) and lists
   the methods of the response class (`method_names_from_class`: `inspect.getmembers`); SQS converts
   each attribute name with a regular expression (`camelcase_to_underscores`), checks each received
   message's retention by computing every queue attribute, and builds each receipt handle from 185
   separate `random.choice` calls. None of that can change while the server runs, or it is the same
   computation done in one step: module list and method names are computed once, names converted
   once each, the retention period read directly, and a receipt handle drawn with one `choices` call
   (same alphabet, length and random source). Measured with a CPU profiler of the AWS process at load,
   these were a fifth of its time.

4. One list of AWS regions. moto asks a new boto3 Session for a service's regions at import (EC2,
   three times) and whenever it creates a backend, and each new Session parses botocore's endpoint
   data again (~0.2 s each): most of the local cloud's start-up. The regions of a service cannot change
   while the process runs, so one session answers and the answers are kept.

5. FilterLogEvents as CloudWatch Logs answers it: filter patterns moto does not understand no longer match
   every event, events come in time order across streams, `logStreamNamePrefix` is honoured
   (local/logs/moto_filter.py, which says what moto does instead).
6. DynamoDB transactions that copy one item, not every table, and put back only the items a cancelled
   transaction touched (local/dynamodb/transactions.py, which says what moto does instead).

`tests/local/test_moto_patches.py` shows moto still needs each (so this file is still needed) and that
results stay exact; `make bench` measures what they buy (bench/results/).
"""

from __future__ import annotations

import contextlib
import functools
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3.session
from moto import backends
from moto.core import responses as core_responses
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random
from moto.sqs import models as sqs_models
from moto.sqs.models import Queue, SQSBackend

from aws_clients.cache import core_session
from local.dynamodb import transactions
from local.logs import moto_filter
from local.sqs import move_tasks
from local.sqs.queues import QUEUE_LOCK as _queue_lock

COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
          "approximate_number_of_messages_delayed")
_state = threading.local()  # per thread: counts skipped, lazy message lists, memoised attributes
_originals: dict[str, Any] = {}
ATOMIC = ("send_message", "send_message_batch", "delete_message", "change_message_visibility",
          "change_message_visibility_batch", "purge_queue")
LONG_POLL_STEP_SECONDS = 0.05


def _count_property(original: property) -> property:
    def count(queue: Queue) -> int:
        return 0 if getattr(_state, "skip_counts", 0) else original.fget(queue)  # type: ignore[misc]
    return property(count)


def _lazy_messages_property(original: property) -> property:
    def messages(queue: Queue) -> Any:
        if getattr(_state, "lazy_messages", 0):  # iterated once by receive_message: no list of all of them
            return (m for m in queue._messages if m.visible and not m.delayed)
        return original.fget(queue)  # type: ignore[misc]
    return property(messages)


def _memoised_attributes_property(original: property) -> property:
    def attributes(queue: Queue) -> dict[str, Any]:
        memo = getattr(_state, "attributes", None)
        if memo is None:
            return original.fget(queue)  # type: ignore[misc]
        if id(queue) not in memo:
            memo[id(queue)] = original.fget(queue)  # type: ignore[misc]
        return memo[id(queue)]
    return property(attributes)


@contextmanager
def _flag(name: str) -> Iterator[None]:
    setattr(_state, name, getattr(_state, name, 0) + 1)
    try:
        yield
    finally:
        setattr(_state, name, getattr(_state, name) - 1)


def _atomic(method: Callable[..., Any], *, skip_counts: bool = False) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _queue_lock, (_flag("skip_counts") if skip_counts else contextlib.nullcontext()):
            return method(*args, **kwargs)
    return locked


def _atomic_receive(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def receive(self: SQSBackend, queue_name: str, count: int, wait_seconds_timeout: int,
                visibility_timeout: int, message_attribute_names: list[str] | None = None) -> Any:
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with _queue_lock, _flag("skip_counts"), _flag("lazy_messages"):
                messages = method(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(LONG_POLL_STEP_SECONDS)
    return receive


def _get_queue_attributes_once(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def get(self: SQSBackend, queue_name: str, attribute_names: list[str]) -> Any:
        with _queue_lock:
            _state.attributes = {}
            try:
                return method(self, queue_name, attribute_names)
            finally:
                _state.attributes = None
    return get


def _delete_message_batch(self: SQSBackend, queue_name: str,
                          receipts: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """moto's delete_message_batch, with one pass over the queue for the whole batch."""
    with _queue_lock:
        queue = self.get_queue(queue_name)
        handles = {r["ReceiptHandle"] for r in receipts} - queue.deleted_messages
        found: set[str] = set()
        kept = []
        for message in queue._messages:
            mine = handles.intersection(message.all_receipt_handles)
            if mine:
                found |= mine
                queue.pending_messages.discard(message)
                queue.deleted_messages.update(message.all_receipt_handles)
                continue
            kept.append(message)
        if found:
            queue._messages = kept
        success, errors = [], []
        for receipt in receipts:
            handle = receipt["ReceiptHandle"]
            if handle in found or handle in queue.deleted_messages:
                success.append(receipt["Id"])
            else:
                errors.append({"Id": receipt["Id"], "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                               "Message": f'The input receipt handle "{handle}" is not a valid receipt handle.'})
        return success, errors


def _retained(self: SQSBackend, queue_name: str, message: Any) -> bool:
    """moto's retention check, reading the one attribute it needs instead of computing them all."""
    queue = self.get_queue(queue_name)
    return bool(int(queue.message_retention_period) + message.sent_timestamp / 1000 > unix_time())


_regions_session: list[Any] = []


@functools.cache
def _regions(service: str, partition: str, allow_non_regional: bool) -> tuple[str, ...]:
    if not _regions_session:
        _regions_session.append(core_session())  # the endpoint data our clients parsed
    return tuple(_regions_session[0].get_available_regions(service, partition, allow_non_regional))


def _available_regions(self: Any, service_name: str, partition_name: str = "aws",
                       allow_non_regional: bool = False) -> list[str]:
    return list(_regions(service_name, partition_name, allow_non_regional))


def _receipt_handle() -> str:
    return "".join(mock_random.choices(string.ascii_lowercase, k=185))


def applied() -> bool:
    return bool(_originals)


def apply() -> None:
    """Install every fix (idempotent)."""
    if _originals:
        return
    for name, make in [*((c, _count_property) for c in COUNTS), ("messages", _lazy_messages_property),
                       ("attributes", _memoised_attributes_property)]:
        _originals[f"Queue.{name}"] = getattr(Queue, name)
        setattr(Queue, name, make(_originals[f"Queue.{name}"]))
    for name in ATOMIC:
        _originals[f"SQSBackend.{name}"] = getattr(SQSBackend, name)
        setattr(SQSBackend, name, _atomic(_originals[f"SQSBackend.{name}"],
                                          skip_counts=name in ("send_message", "send_message_batch")))
    _originals["SQSBackend.receive_message"] = SQSBackend.receive_message
    SQSBackend.receive_message = _atomic_receive(SQSBackend.receive_message)  # type: ignore[method-assign]
    _originals["SQSBackend.get_queue_attributes"] = SQSBackend.get_queue_attributes
    SQSBackend.get_queue_attributes = _get_queue_attributes_once(  # type: ignore[method-assign]
        SQSBackend.get_queue_attributes)
    _originals["SQSBackend.delete_message_batch"] = SQSBackend.delete_message_batch
    SQSBackend.delete_message_batch = _delete_message_batch  # type: ignore[method-assign]
    _originals["SQSBackend.is_message_valid_based_on_retention_period"] = (
        SQSBackend.is_message_valid_based_on_retention_period)
    SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
    _originals["backends.list_of_moto_modules"] = backends.list_of_moto_modules
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    _originals["core_responses.method_names_from_class"] = core_responses.method_names_from_class
    core_responses.method_names_from_class = functools.cache(core_responses.method_names_from_class)
    _originals["sqs_models.camelcase_to_underscores"] = sqs_models.camelcase_to_underscores
    sqs_models.camelcase_to_underscores = functools.cache(sqs_models.camelcase_to_underscores)
    _originals["sqs_models.generate_receipt_handle"] = sqs_models.generate_receipt_handle
    sqs_models.generate_receipt_handle = _receipt_handle
    _originals["boto3_session.get_available_regions"] = boto3.session.Session.get_available_regions
    boto3.session.Session.get_available_regions = _available_regions  # type: ignore[method-assign]
    move_tasks.install()
    moto_filter.install()
    transactions.install()


def remove() -> None:
    move_tasks.uninstall()
    moto_filter.uninstall()
    transactions.uninstall()
    owners = {"Queue": Queue, "SQSBackend": SQSBackend, "backends": backends, "core_responses": core_responses,
              "sqs_models": sqs_models, "boto3_session": boto3.session.Session}
    for key, original in _originals.items():
        owner, name = key.split(".")
        setattr(owners[owner], name, original)
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
