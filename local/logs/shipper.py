"""Log events leave the process that makes them in batches, from a background thread: an invocation or a
request only appends to a list (no I/O, no wait), and every `interval` (0.25 s) whatever has gathered goes
to the sink in one call, grouped by log group and stream, each stream's events in time order.

The AWS process's sink puts them into moto in-process (local/logs/ingest.py). The local cloud's own process
(which runs the API and its functions) sends each batch as one POST to the AWS process's control endpoint
(`/_localcloud/logs`): one keep-alive HTTPS call per interval, whatever the number of streams, where
PutLogEvents would cost a signed call, an IAM decision and moto's request parsing per stream and interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

FLUSH_SECONDS = 0.25
MAX_PENDING = 200_000  # events held while the sink cannot take them; beyond that the oldest are dropped

Batch = dict[str, dict[str, list[tuple[int, str]]]]  # group -> stream -> [(timestamp ms, message)]


class LogShipper:
    def __init__(self, sink: Callable[[Batch], Any], *, interval: float = FLUSH_SECONDS,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.sink, self.interval, self.on_error = sink, interval, on_error
        self.lock = threading.Lock()
        self.pending: list[tuple[str, str, Iterable[tuple[int, str]]]] = []
        self.count = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="log-shipper")

    def start(self) -> LogShipper:
        self.thread.start()
        return self

    def put(self, group: str, stream: str, events: Iterable[tuple[int, str]]) -> None:
        """Queue events of one stream (never blocks on I/O)."""
        with self.lock:
            self.pending.append((group, stream, events))

    def flush(self) -> int:
        """Hand everything queued to the sink now; the number of events."""
        with self.lock:
            pending, self.pending = self.pending, []
        if not pending:
            return 0
        batch: Batch = {}
        for group, stream, events in pending:
            batch.setdefault(group, {}).setdefault(stream, []).extend(events)
        total = 0
        for streams in batch.values():
            for events in streams.values():
                events.sort(key=lambda event: event[0])  # PutLogEvents wants them in time order
                total += len(events)
        try:
            self.sink(batch)
        except Exception as error:  # the AWS process is going away, or a passing fault: keep them for next time
            with self.lock:
                if sum(len(list(e)) for _, _, e in self.pending) < MAX_PENDING:
                    self.pending[:0] = [(g, s, e) for g, streams in batch.items() for s, e in streams.items()]
            if self.on_error and not self.stopping.is_set():
                self.on_error(f"shipping logs failed: {error}")
            return 0
        self.count += total
        return total

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.flush()

    def stop(self) -> None:
        """Stop the thread after a last flush."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=2)
        self.flush()
