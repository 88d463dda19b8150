"""Local event source mappings: SQS pollers that do what the mapping's settings say, as they change.

A mapping's settings are the Lambda API's (local/event_source_mappings.py keeps them in step with
`CreateEventSourceMapping` / `UpdateEventSourceMapping`): `Enabled`, `BatchSize`,
`MaximumBatchingWindowInSeconds`, `ScalingConfig.MaximumConcurrency` and `FunctionResponseTypes`.
Per mapping, up to `MaximumConcurrency` workers poll the queue, each with its own execution environment
(so never more concurrent invocations than allowed). A worker gathers up to `BatchSize` messages within
the batching window, invokes the handler with a Lambda-shaped SQS event and settles the batch as Lambda
does: with `ReportBatchItemFailures`, every record but the reported ones is deleted (an invalid report
fails the whole batch); without it, a successful invocation deletes the whole batch; an invocation error
deletes nothing. Failed records stay invisible for the queue's visibility timeout times `time_scale`,
then return; after `maxReceiveCount` receives the queue's redrive policy moves them to the DLQ.

A change takes effect at the next batch: a disabled mapping's workers finish the batch in hand, then
park (their messages wait in the queue); workers beyond a lowered maximum park the same way; a raised
maximum starts new workers. `state` is what `GetEventSourceMapping` reports: `Enabling` / `Updating` /
`Disabling` until every worker has taken the change, then `Enabled` or `Disabled`.

Lambda polls as the function's execution role: each receive, delete and visibility change is authorized
first (`authorize`, local/iam/enforcer.py). A role that may not receive is not polled for: its messages
wait in the queue and one line says why; polling resumes when the role may again (checked every second).

Idle workers wait on the queue (a send wakes them at once) instead of polling it; they run in the
process that hosts moto and reach SQS through local/queues.py, without HTTP.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.lambda_service.environments import ExecutionEnvironment
from local.lambda_service.invocations import InvocationError
from local.lambda_service.mapping_stats import Invocation, MappingStats, remember, ride_id_of
from local.sqs.queues import QueueAccess

IDLE_WAIT_SECONDS = 0.2  # bounds how late a record that turned visible again (or a change) is seen
REFUSED_WAIT_SECONDS = 1.0  # how soon polling resumes once the role may receive again
Authorize = Callable[[str], str | None]  # an SQS action -> None, or why the role may not take it


@dataclass(frozen=True)
class MappingSettings:
    """What a poller honours, as the Lambda API last set it."""

    enabled: bool = True
    batch_size: int = 10
    batching_window_seconds: float = 0
    max_concurrency: int = 5
    report_batch_item_failures: bool = False


class _Worker:
    def __init__(self, index: int, environment: ExecutionEnvironment) -> None:
        self.index, self.environment = index, environment
        self.parked = False
        self.generation = -1  # the settings generation its current or last batch used
        self.thread: threading.Thread | None = None


class QueuePoller:
    """The local event source mapping of one queue."""

    def __init__(self, name: str, settings: MappingSettings, *, queue: QueueAccess,
                 environment_factory: Callable[[], ExecutionEnvironment], time_scale: float = 1.0,
                 on_error: Callable[[str], None] | None = None, authorize: Authorize | None = None) -> None:
        self.name, self.queue = name, queue
        self.settings, self.generation = settings, 0
        self.transition = "Enabling" if settings.enabled else ""
        self.environment_factory = environment_factory
        self.time_scale = time_scale
        self.on_error = on_error
        self.authorize: Authorize = authorize or (lambda action: None)
        self.stats = MappingStats()
        self.lock = threading.Lock()  # the counters
        self.changed = threading.Condition()  # settings, workers and their parking
        self.workers: list[_Worker] = []
        self.stopping = threading.Event()
        self.started = False

    # -- control -------------------------------------------------------------------------------------
    def start(self) -> None:
        with self.changed:
            self.started = True
            self._grow()

    def apply(self, settings: MappingSettings) -> None:
        """New settings from the Lambda API; workers take them at their next batch."""
        with self.changed:
            if settings == self.settings:
                return
            was = self.settings
            self.settings, self.generation = settings, self.generation + 1
            if settings.enabled != was.enabled:
                self.transition = "Enabling" if settings.enabled else "Disabling"
            elif settings.enabled:
                self.transition = "Updating"
            if self.started:
                self._grow()
            self.changed.notify_all()

    @property
    def state(self) -> str:
        """Enabled, Disabled, or the transition under way (Enabling, Disabling, Updating)."""
        with self.changed:
            s = self.settings
            if not s.enabled:
                busy = any(not w.parked for w in self.workers)
                return "Disabling" if busy else "Disabled"
            active = [w for w in self.workers if w.index < s.max_concurrency]
            settled = (self.started and len(active) == s.max_concurrency
                       and all(w.generation == self.generation and not w.parked for w in active)
                       and all(w.parked for w in self.workers if w.index >= s.max_concurrency))
            return "Enabled" if settled else self.transition or "Enabling"

    @property
    def environments(self) -> list[ExecutionEnvironment]:
        with self.changed:
            return [w.environment for w in self.workers]

    def kill_environments(self) -> int:
        """End every execution environment as a crash would: what they held returns after its visibility
        timeout, and the next batch cold-starts a new one."""
        environments = self.environments
        killed = sum(e.warm for e in environments)
        for environment in environments:
            environment.kill(closing=False)
        return killed

    def signal_stop(self) -> None:
        """Tell every worker to stop and end its environment; returns at once (stop() also waits)."""
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()
        for environment in self.environments:
            environment.kill()

    def stop(self) -> None:
        self.signal_stop()
        with self.changed:
            threads = [w.thread for w in self.workers if w.thread is not None]
        for thread in threads:
            thread.join(timeout=1)

    def _grow(self) -> None:
        """Start the workers the settings allow and do not have yet (under `changed`)."""
        if not self.settings.enabled or self.stopping.is_set():
            return
        while len(self.workers) < self.settings.max_concurrency:
            worker = _Worker(len(self.workers), self.environment_factory())
            worker.thread = threading.Thread(target=self._work, args=(worker,), daemon=True,
                                             name=f"{self.name}#{worker.index + 1}")
            self.workers.append(worker)
            worker.thread.start()

    def _may_poll(self, worker: _Worker) -> bool:
        return self.settings.enabled and worker.index < self.settings.max_concurrency

    # -- the workers ---------------------------------------------------------------------------------
    def _take_settings(self, worker: _Worker) -> MappingSettings | None:
        """The settings for the next batch, after parking while the mapping does not want this worker."""
        with self.changed:
            if not self._may_poll(worker) and not self.stopping.is_set():
                worker.parked = True
                self.changed.notify_all()
                self.changed.wait_for(lambda: self.stopping.is_set() or self._may_poll(worker))
                worker.parked = False
            if self.stopping.is_set():
                return None
            worker.generation = self.generation
            return self.settings

    def _receive_batch(self, worker: _Worker, s: MappingSettings) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        first_at = None
        while not self.stopping.is_set():
            got = self.queue.receive(min(10, s.batch_size - len(batch)))
            batch += got
            if not batch:
                return batch
            if first_at is None:
                first_at = time.monotonic()
            if len(batch) >= s.batch_size or (s.batching_window_seconds == 0 and not got):
                break
            remaining = s.batching_window_seconds - (time.monotonic() - first_at)
            if remaining <= 0 or not self._may_poll(worker):  # disabled meanwhile: invoke what is in hand
                break
            if not got:
                self.queue.wait(min(remaining, IDLE_WAIT_SECONDS))
        return batch

    def _work(self, worker: _Worker) -> None:
        while not self.stopping.is_set():
            settings = self._take_settings(worker)
            if settings is None:
                break
            refusal = self.authorize("sqs:ReceiveMessage")
            if refusal is not None:
                self._problem(f"{self.name}: not polling its queue, its messages wait there: {refusal}")
                self.stopping.wait(REFUSED_WAIT_SECONDS)
                continue
            try:
                batch = self._receive_batch(worker, settings)
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
                self._handle(worker, settings, batch)
            except Exception as error:  # a worker never dies: what it did not settle returns after the timeout
                self._problem(f"{self.name}: settling a batch failed: {error!r}")

    def _handle(self, worker: _Worker, settings: MappingSettings, batch: list[dict[str, Any]]) -> None:
        ids = [record["messageId"] for record in batch]
        with self.lock:
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            for record in batch:
                seen = self.stats.received.get(record["messageId"], 0)
                self.stats.distinct += not seen
                remember(self.stats.received, record["messageId"], seen + 1)
                ride_id = ride_id_of(record["body"])
                if ride_id:
                    remember(self.stats.message_rides, record["messageId"], ride_id)
        environment = worker.environment
        started = time.monotonic()
        error, cold = None, not environment.warm
        try:
            failed = self._failed_ids(environment.invoke({"Records": batch}), ids, settings)
        except InvocationError as invocation_error:
            error = str(invocation_error)
            failed = ids
            if invocation_error.error_type.startswith(("Runtime.", "Sandbox.")) and not self.stopping.is_set():
                self._problem(f"{self.name}: {invocation_error}")
        with self.lock:
            s = self.stats
            s.in_flight -= 1
            s.invocations.append(Invocation(worker.index + 1, ids, failed, error, started, time.monotonic(), cold))
            s.batches[worker.index + 1] += 1
            s.records += len(ids)
            s.failed_records += len(failed)
            s.errors += error is not None
            s.cold_starts += cold
        if not self.stopping.is_set():
            self._settle(batch, set(failed))

    @staticmethod
    def _failed_ids(result: Any, ids: list[str], settings: MappingSettings) -> list[str]:
        if not settings.report_batch_item_failures:
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
        refusal = self.authorize("sqs:DeleteMessage") if done else None
        if refusal is not None:  # they return after the visibility timeout and are processed again
            self._problem(f"{self.name}: cannot delete what it processed: {refusal}")
            done = []
        if done:
            self.queue.delete([record["receiptHandle"] for record in done])
            with self.lock:
                for record in done:
                    remember(self.stats.deleted, record["messageId"], None)
        if failed and self.time_scale < 1 and self.authorize("sqs:ChangeMessageVisibility") is None:
            timeout = max(1, math.ceil(self.queue.visibility_timeout() * self.time_scale))
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


__all__ = ["MappingSettings", "QueuePoller"]
