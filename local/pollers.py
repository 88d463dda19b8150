"""Local event source mappings: SQS pollers that honour the deployed mapping settings.

Per mapping, `MaximumConcurrency` workers poll the queue, each with its own execution environment
(so never more concurrent invocations than configured). A worker gathers up to `BatchSize` messages
within `MaximumBatchingWindowInSeconds`, invokes the handler with a Lambda-shaped SQS event and
settles the batch as Lambda does: with `ReportBatchItemFailures`, every record but the reported
ones is deleted (an invalid report fails the whole batch); an invocation error deletes nothing.
Failed records stay invisible for the queue's visibility timeout times `time_scale`, then return;
after `maxReceiveCount` receives moto's redrive moves them to the DLQ.

Idle workers wait on the queue (a send wakes them at once) instead of polling it; they run in the
process that hosts moto and reach SQS through local/queues.py, without HTTP.
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

from local.deploy import MappingSpec
from local.mapping_stats import Invocation, MappingStats, remember
from local.queues import QueueAccess
from local.runtime import ExecutionEnvironment, InvocationError

IDLE_WAIT_SECONDS = 0.2  # bounds how late a record that turned visible again is seen


def _ride_id(body: str) -> str | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return str(value["id"]) if isinstance(value, dict) and "id" in value else None


class QueuePoller:
    """The local event source mapping of one queue."""

    def __init__(self, mapping: MappingSpec, *, queue: QueueAccess, environments: list[ExecutionEnvironment],
                 time_scale: float = 1.0, on_error: Any = None) -> None:
        if len(environments) != mapping.max_concurrency:
            raise ValueError("one execution environment per allowed concurrent invocation")
        self.mapping, self.queue = mapping, queue
        self.environments = environments
        self.time_scale = time_scale
        self.on_error = on_error
        self.stats = MappingStats()
        self.lock = threading.Lock()
        self.running = threading.Event()  # cleared: paused
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(i,), daemon=True,
                                         name=f"{mapping.function.logical_id}#{i + 1}")
                        for i in range(mapping.max_concurrency)]

    @property
    def name(self) -> str:
        return self.mapping.function.logical_id

    @property
    def paused(self) -> bool:
        return not self.running.is_set()

    def start(self, paused: bool = False) -> None:
        if not paused:
            self.running.set()
        for thread in self.threads:
            thread.start()

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def kill_environments(self) -> int:
        """End every execution environment as a crash would: what they held returns after its visibility
        timeout, and the next batch cold-starts a new one."""
        killed = sum(e.warm for e in self.environments)
        for environment in self.environments:
            environment.kill(closing=False)
        return killed

    def signal_stop(self) -> None:
        """Tell every worker to stop and end its environment; returns at once (stop() also waits)."""
        self.stopping.set()
        self.running.set()
        for environment in self.environments:
            environment.kill()

    def stop(self) -> None:
        self.signal_stop()
        for thread in self.threads:
            thread.join(timeout=1)

    def _receive_batch(self) -> list[dict[str, Any]]:
        m = self.mapping
        batch: list[dict[str, Any]] = []
        first_at = None
        while not self.stopping.is_set():
            got = self.queue.receive(min(10, m.batch_size - len(batch)), m.visibility_timeout_seconds)
            batch += got
            if not batch:
                return batch
            if first_at is None:
                first_at = time.monotonic()
            if len(batch) >= m.batch_size or (m.batching_window_seconds == 0 and not got):
                break
            remaining = m.batching_window_seconds - (time.monotonic() - first_at)
            if remaining <= 0:
                break
            if not got:
                self.queue.wait(min(remaining, IDLE_WAIT_SECONDS))
        return batch

    def _work(self, index: int) -> None:
        environment = self.environments[index]
        while not self.stopping.is_set():
            self.running.wait()
            if self.stopping.is_set():
                break
            try:
                batch = self._receive_batch()
            except Exception as error:  # a transient failure: keep polling
                if self.stopping.is_set():
                    break
                self._problem(f"{self.name}: receive failed: {error!r}")
                time.sleep(IDLE_WAIT_SECONDS)
                continue
            if not batch:
                self.queue.wait(IDLE_WAIT_SECONDS)
                continue
            try:
                self._handle(index, environment, batch)
            except Exception as error:  # a worker never dies: what it did not settle returns after the timeout
                self._problem(f"{self.name}: settling a batch failed: {error!r}")

    def _handle(self, index: int, environment: ExecutionEnvironment, batch: list[dict[str, Any]]) -> None:
        ids = [record["messageId"] for record in batch]
        with self.lock:
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            for record in batch:
                seen = self.stats.received.get(record["messageId"], 0)
                self.stats.distinct += not seen
                remember(self.stats.received, record["messageId"], seen + 1)
                ride_id = _ride_id(record["body"])
                if ride_id:
                    remember(self.stats.message_rides, record["messageId"], ride_id)
        started = time.monotonic()
        error, cold = None, not environment.warm
        try:
            failed = self._failed_ids(environment.invoke({"Records": batch}), ids)
        except InvocationError as invocation_error:
            error = str(invocation_error)
            failed = ids
            if invocation_error.error_type.startswith(("Runtime.", "Sandbox.")) and not self.stopping.is_set():
                self._problem(f"{self.mapping.function.logical_id}: {invocation_error}")
        with self.lock:
            s = self.stats
            s.in_flight -= 1
            s.invocations.append(Invocation(index + 1, ids, failed, error, started, time.monotonic(), cold))
            s.batches[index + 1] += 1
            s.records += len(ids)
            s.failed_records += len(failed)
            s.errors += error is not None
            s.cold_starts += cold
        if not self.stopping.is_set():
            self._settle(batch, set(failed))

    def _failed_ids(self, result: Any, ids: list[str]) -> list[str]:
        if not self.mapping.report_batch_item_failures:
            return []
        if result is None or (isinstance(result, dict) and not result.get("batchItemFailures")):
            return []
        try:
            failed = [str(item["itemIdentifier"]) for item in result["batchItemFailures"]]
        except (TypeError, KeyError):
            return ids  # an unreadable report fails the whole batch, as on Lambda
        return failed if set(failed) <= set(ids) else ids

    def _settle(self, batch: list[dict[str, Any]], failed: set[str]) -> None:
        done = [record for record in batch if record["messageId"] not in failed]
        if done:
            self.queue.delete([record["receiptHandle"] for record in done])
            with self.lock:
                for record in done:
                    remember(self.stats.deleted, record["messageId"], None)
        if failed and self.time_scale < 1:
            timeout = max(1, math.ceil(self.mapping.visibility_timeout_seconds * self.time_scale))
            for record in batch:
                if record["messageId"] in failed:
                    self.queue.change_visibility(record["receiptHandle"], timeout)

    def _problem(self, text: str) -> None:
        with self.lock:
            first = text not in self.stats.problems
            if first:
                self.stats.problems.append(text)
        if first and self.on_error:
            self.on_error(text)
