"""Local event source mappings: SQS pollers that honour the deployed mapping settings.

Per mapping, `MaximumConcurrency` workers poll the queue, each with its own execution environment
(so never more concurrent invocations than configured). A worker gathers up to `BatchSize` messages
within `MaximumBatchingWindowInSeconds`, invokes the handler with a Lambda-shaped SQS event and
settles the batch as Lambda does: with `ReportBatchItemFailures`, every record but the reported
ones is deleted (an invalid report fails the whole batch); an invocation error deletes nothing.
Failed records stay invisible for the queue's visibility timeout times `time_scale`, then return;
after `maxReceiveCount` receives moto's redrive moves them to the DLQ.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from local.deploy import MappingSpec
from local.runtime import ExecutionEnvironment, InvocationError

IDLE_POLL_SECONDS = 0.05


@dataclass
class Invocation:
    """One batch as a worker handled it: the load-balancing record."""

    worker: int
    message_ids: list[str]
    failed_ids: list[str]
    error: str | None
    started: float
    ended: float
    cold_start: bool = False


@dataclass
class MappingStats:
    invocations: list[Invocation] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    received: Counter[str] = field(default_factory=Counter)  # message id -> receives
    message_rides: dict[str, str] = field(default_factory=dict)  # message id -> ride id in its body

    @property
    def ride_ids(self) -> set[str]:
        """Distinct ride ids delivered to this queue."""
        return set(self.message_rides.values())
    deleted: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    @property
    def retried(self) -> int:
        return sum(count - 1 for count in self.received.values())


def lambda_sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Lambda's event source mapping delivers it."""
    attributes = {
        k: v for k, v in message.get("Attributes", {}).items()
        if k in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
                 "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader")
    }
    message_attributes = {
        name: {"stringValue": a.get("StringValue"), "binaryValue": a.get("BinaryValue"),
               "stringListValues": a.get("StringListValues", []), "binaryListValues": a.get("BinaryListValues", []),
               "dataType": a["DataType"]}
        for name, a in message.get("MessageAttributes", {}).items()
    }
    return {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": attributes, "messageAttributes": message_attributes,
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}


def _ride_id(body: str) -> str | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return str(value["id"]) if isinstance(value, dict) and "id" in value else None


class QueuePoller:
    """The local event source mapping of one queue."""

    def __init__(self, mapping: MappingSpec, *, sqs: Any, region: str, environments: list[ExecutionEnvironment],
                 time_scale: float = 1.0, on_error: Any = None) -> None:
        if len(environments) != mapping.max_concurrency:
            raise ValueError("one execution environment per allowed concurrent invocation")
        self.mapping, self.sqs, self.region = mapping, sqs, region
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

    def start(self, paused: bool = False) -> None:
        if not paused:
            self.running.set()
        for thread in self.threads:
            thread.start()

    def resume(self) -> None:
        self.running.set()

    def stop(self) -> None:
        self.stopping.set()
        self.running.set()
        for thread in self.threads:
            thread.join(timeout=self.mapping.function.timeout_seconds + 5)
        for environment in self.environments:
            environment.stop()

    def _receive_batch(self) -> list[dict[str, Any]]:
        m = self.mapping
        batch: list[dict[str, Any]] = []
        first_at = None
        while not self.stopping.is_set():
            messages = self.sqs.receive_message(
                QueueUrl=m.queue_url, MaxNumberOfMessages=min(10, m.batch_size - len(batch)),
                MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0,
            ).get("Messages", [])
            batch += messages
            if batch and first_at is None:
                first_at = time.monotonic()
            if len(batch) >= m.batch_size or (batch and m.batching_window_seconds == 0 and not messages):
                break
            if first_at is not None and time.monotonic() - first_at >= m.batching_window_seconds:
                break
            if not messages:
                if not batch:
                    return batch
                time.sleep(IDLE_POLL_SECONDS)
        return batch

    def _work(self, index: int) -> None:
        environment = self.environments[index]
        while not self.stopping.is_set():
            self.running.wait()
            if self.stopping.is_set():
                break
            try:
                batch = self._receive_batch()
            except Exception as error:  # moto stopped under us, or a transient failure: keep polling
                if self.stopping.is_set():
                    break
                self._error(f"receive failed: {error}")
                time.sleep(IDLE_POLL_SECONDS * 10)
                continue
            if not batch:
                time.sleep(IDLE_POLL_SECONDS)
                continue
            try:
                self._handle(index, environment, batch)
            except Exception as error:  # a worker never dies: what it did not settle returns after the timeout
                self._error(f"{self.name}: settling a batch failed: {error!r}")

    def _handle(self, index: int, environment: ExecutionEnvironment, batch: list[dict[str, Any]]) -> None:
        m = self.mapping
        event = {"Records": [lambda_sqs_record(message, m.queue_arn, self.region) for message in batch]}
        ids = [message["MessageId"] for message in batch]
        with self.lock:
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            for message in batch:
                self.stats.received[message["MessageId"]] += 1
                ride_id = _ride_id(message["Body"])
                if ride_id:
                    self.stats.message_rides[message["MessageId"]] = ride_id
        started = time.monotonic()
        error, cold = None, environment.process is None
        try:
            failed = self._failed_ids(environment.invoke(event), ids)
        except InvocationError as invocation_error:
            error = str(invocation_error)
            failed = ids
            if invocation_error.error_type.startswith(("Runtime.", "Sandbox.")):
                self._error(f"{m.function.logical_id}: {invocation_error}")
        with self.lock:
            self.stats.in_flight -= 1
            self.stats.invocations.append(Invocation(index + 1, ids, failed, error, started, time.monotonic(), cold))
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
        m = self.mapping
        done = [message for message in batch if message["MessageId"] not in failed]
        deleted: set[str] = set()
        for start in range(0, len(done), 10):
            chunk = dict(enumerate(done[start:start + 10]))
            response = self.sqs.delete_message_batch(QueueUrl=m.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]} for i, message in chunk.items()])
            # A failed entry is a message already gone (deleted through a duplicate delivery): nothing to do.
            deleted.update(chunk[int(entry["Id"])]["MessageId"] for entry in response.get("Successful", []))
        with self.lock:
            self.stats.deleted.update(deleted)
        if self.time_scale < 1:
            timeout = max(1, math.ceil(m.visibility_timeout_seconds * self.time_scale))
            for message in batch:
                if message["MessageId"] not in failed:
                    continue
                with contextlib.suppress(ClientError):  # gone meanwhile: deleted through a duplicate delivery
                    self.sqs.change_message_visibility(QueueUrl=m.queue_url, ReceiptHandle=message["ReceiptHandle"],
                                                       VisibilityTimeout=timeout)

    def _error(self, text: str) -> None:
        with self.lock:
            first = text not in self.stats.errors
            if first:
                self.stats.errors.append(text)
        if first and self.on_error:
            self.on_error(text)
