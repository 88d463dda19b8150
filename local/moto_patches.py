"""One narrow fix to moto (5.2) for the local cloud: sending a message costs O(1), not O(queue depth).

moto's `SQSBackend.send_message` (and `Queue.add_message`) read one flag with
`queue.attributes.get("ContentBasedDeduplication")`, and `Queue.attributes` computes every queue
attribute to answer it, including the three approximate message counts, each a scan of the whole
queue. A backlog of N messages therefore costs O(N^2) to build. While a message is being sent, this
patch makes those three counts return 0 instead of scanning: the dictionary they land in is read for
that one flag and thrown away. Everywhere else (GetQueueAttributes, the demo's depths) they are
exact. `tests/local/test_moto_patches.py` shows moto still does the scan (so the patch is still
needed) and that counts stay exact; `make bench` measures what it buys (bench/results/).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.sqs.models import Queue, SQSBackend

COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
          "approximate_number_of_messages_delayed")
_sending = threading.local()
_originals: dict[str, Any] = {}


def _count_property(name: str, original: property) -> property:
    def count(queue: Queue) -> int:
        return 0 if getattr(_sending, "depth", 0) else original.fget(queue)  # type: ignore[misc]
    return property(count)


def _while_sending(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def send(*args: Any, **kwargs: Any) -> Any:
        _sending.depth = getattr(_sending, "depth", 0) + 1
        try:
            return method(*args, **kwargs)
        finally:
            _sending.depth -= 1
    return send


def apply() -> None:
    """Install the fix (idempotent)."""
    if _originals:
        return
    for name in COUNTS:
        _originals[name] = getattr(Queue, name)
        setattr(Queue, name, _count_property(name, _originals[name]))
    _originals["send_message"] = SQSBackend.send_message
    SQSBackend.send_message = _while_sending(SQSBackend.send_message)  # type: ignore[method-assign]


def remove() -> None:
    for name, original in _originals.items():
        setattr(SQSBackend if name == "send_message" else Queue, name, original)
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
