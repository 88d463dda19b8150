"""The runtime every subscriber service shares: SQS batch in, one idempotent effect per ride.

A service's handler module is three lines: it names its effect (a plain function from a ride to
the item it records) and exposes `SubscriberConsumer(effect).lambda_handler`. Partial batch
responses come from Powertools' AsyncBatchProcessor: a record that is not JSON or fails the ride
model (a poison message) fails alone and is reported by its message id; SQS redrives it to the DLQ
after maxReceiveCount. If every record fails, Powertools raises and Lambda retries the batch.

The records of a batch are processed concurrently, at most RECORD_CONCURRENCY at a time (the
service's `recordConcurrency`, default 10): each record's effect is one conditional write that
mostly waits on DynamoDB, so ten at once take about as long as one. The write runs in a thread of a
pool of that size (boto3's low-level clients are thread-safe; its resources are not).

With ORDERING=fifo (the stack's `ordering: "fifo"`, SQS FIFO queues) order is the point: records are
processed one at a time, in the order of the batch, by Powertools' SqsFifoPartialProcessor; after a
record fails, every later record of its message group (its customer) is reported failed unprocessed, so
SQS returns them in order and no customer's rides are applied out of order. Other groups go on.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    async_process_partial_response,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from shared.effects import DynamoEffectStore, EffectStore
from shared.observability import logger, metrics, tracer
from shared.ride import Ride

Effect = Callable[[Ride], dict[str, Any]]
MAX_RECORD_CONCURRENCY = 100

__all__ = ["ConsumerSettings", "InjectedFailure", "RideSqsRecord", "SubscriberConsumer", "process_ride"]


class InjectedFailure(RuntimeError):
    """A failure injected on purpose (FAILURE_RATE > 0) to show retries and the DLQ."""


class RideSqsRecord(SqsRecordModel):
    """An SQS record whose body (raw SNS delivery) is a ride."""

    body: Json[Ride]  # type: ignore[assignment]


@dataclass(frozen=True)
class ConsumerSettings:
    """The consumer's environment, checked once per cold start with a clear error."""

    table_name: str
    failure_rate: float = 0.0
    record_concurrency: int = 10  # records of a batch processed at once (standard queues)
    fifo: bool = False  # ORDERING=fifo: one record at a time, a failed record holds back its group

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> ConsumerSettings:
        env = os.environ if environ is None else environ
        table_name = env.get("EFFECT_TABLE_NAME", "")
        if not table_name:
            raise RuntimeError("EFFECT_TABLE_NAME is not set: the stack sets it on every consumer")
        raw_rate = env.get("FAILURE_RATE", "0") or "0"
        try:
            rate = float(raw_rate)
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise RuntimeError(f"FAILURE_RATE must be a number from 0 to 1, got {raw_rate!r}")
        raw_concurrency = env.get("RECORD_CONCURRENCY", "10") or "10"
        if not raw_concurrency.isdigit() or not 1 <= int(raw_concurrency) <= MAX_RECORD_CONCURRENCY:
            raise RuntimeError(f"RECORD_CONCURRENCY must be a whole number from 1 to {MAX_RECORD_CONCURRENCY}, "
                               f"got {raw_concurrency!r}")
        ordering = env.get("ORDERING", "standard") or "standard"
        if ordering not in ("standard", "fifo"):
            raise RuntimeError(f"ORDERING must be standard or fifo, got {ordering!r}")
        return cls(table_name=table_name, failure_rate=rate, record_concurrency=int(raw_concurrency),
                   fifo=ordering == "fifo")


def process_ride(ride: Ride, *, effect: Effect, store: EffectStore, failure_rate: float = 0.0,
                 chance: Callable[[], float] = random.random) -> bool:
    """Apply the service's effect to one ride; True if new, False if a duplicate delivery."""
    if failure_rate and chance() < failure_rate:
        raise InjectedFailure(f"injected failure (FAILURE_RATE={failure_rate}) for ride {ride.id}")
    return store.put_once({"rideId": ride.id, **effect(ride)})


class SubscriberConsumer:
    """Binds one service's effect to the shared batch handling."""

    def __init__(self, effect: Effect, store: EffectStore | None = None,
                 settings: ConsumerSettings | None = None) -> None:
        self.effect = effect
        self.settings = settings or ConsumerSettings.from_environment()
        self.store = store or DynamoEffectStore(self.settings.table_name)
        self.processor = AsyncBatchProcessor(event_type=EventType.SQS, model=RideSqsRecord)
        self.fifo_processor = SqsFifoPartialProcessor(model=RideSqsRecord, skip_group_on_error=True)
        self.writers = ThreadPoolExecutor(max_workers=self.settings.record_concurrency,
                                          thread_name_prefix="record")
        self.lambda_handler = logger.inject_lambda_context(
            metrics.log_metrics(tracer.capture_lambda_handler(self.handle)))

    def apply(self, ride: Ride) -> bool:
        return process_ride(ride, effect=self.effect, store=self.store, failure_rate=self.settings.failure_rate)

    def process(self, record: RideSqsRecord) -> bool:
        ride = record.body
        stored = self.apply(ride)
        logger.info("ride processed" if stored else "duplicate delivery, already processed",
                    extra={"ride_id": ride.id, "message_id": record.messageId})
        return stored

    async def record_handler(self, record: RideSqsRecord) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self.writers, self.process, record)

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        total = len(event.get("Records", []))
        processor: Any = self.fifo_processor if self.settings.fifo else self.processor
        try:
            if self.settings.fifo:
                response = process_partial_response(event=event, record_handler=self.process,
                                                    processor=processor, context=context)
            else:
                response = async_process_partial_response(event=event, record_handler=self.record_handler,
                                                          processor=processor, context=context)
        except BatchProcessingError as error:
            self._report(total, total, error.child_exceptions)
            raise
        failures = response.get("batchItemFailures", [])
        self._report(total, len(failures), processor.exceptions)
        return dict(response)

    def _report(self, total: int, failed: int, exceptions: list[Any]) -> None:
        for exc_type, exc, _ in exceptions:
            logger.warning("record failed", extra={"error": f"{getattr(exc_type, '__name__', exc_type)}: {exc}"})
        metrics.add_metric(name="RidesProcessed", unit=MetricUnit.Count, value=total - failed)
        metrics.add_metric(name="RidesFailed", unit=MetricUnit.Count, value=failed)
