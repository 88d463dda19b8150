"""The two ways `wildrydes send` sends rides: one through the API, retried with the same Idempotency-Key,
or ten at a time straight to the topic with SNS PublishBatch.

Each sender is called with a batch of items and answers an Outcome per item; the driver that paces
them (ops/send.py) knows nothing of HTTP or SNS, and bench/send_client.py drives the API sender alone.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from ops.send_report import Outcome
from ops.traffic import Item, ride_attributes, ride_message

RETRYABLE_STATUSES = frozenset({0, 429, 500, 502, 503, 504})  # 0: no answer (connection refused, reset, timeout)
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.05, 2.0
TOPIC_BATCH = 10  # SNS PublishBatch takes at most 10 entries


def backoff(attempt: int, jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): exponential, capped, with full jitter."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)) * (0.5 + jitter() / 2)


class ApiSender:
    """POSTs items to the API; thread-safe (one httpx client, one connection pool)."""

    def __init__(self, url: str, *, concurrency: int, retries: int, timeout: float, run_id: str | None = None,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 auth: httpx.Auth | None = None) -> None:
        self.url, self.retries, self.sleep = url, retries, sleep
        self.run_id = run_id or uuid.uuid4().hex[:12]
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = client or httpx.Client(limits=limits, timeout=timeout, auth=auth)

    def close(self) -> None:
        self.client.close()

    def __call__(self, items: list[Item]) -> list[Outcome]:
        return [self.send(item) for item in items]

    def send(self, item: Item) -> Outcome:
        headers = {"Content-Type": "application/json"}
        if item.valid:  # a retry of the same request is the same ride
            headers["Idempotency-Key"] = f"{self.run_id}-{item.index}"
        started, attempts = time.monotonic(), 0
        while True:
            attempts += 1
            status, answer, error = self._post(item.body, headers)
            if status not in RETRYABLE_STATUSES or attempts > self.retries:
                break
            self.sleep(backoff(attempts))
        ride_id = answer.get("id") if status == 201 and isinstance(answer, dict) else None
        ride = item.ride or {}
        return Outcome(index=item.index, valid=item.valid, status=status, latency=time.monotonic() - started,
                       attempts=attempts, ride_id=str(ride_id) if ride_id else None, fare=ride.get("fare"),
                       customer=ride.get("customer"),
                       distance=ride.get("distance"), error=error)

    def _post(self, body: str, headers: dict[str, str]) -> tuple[int, Any, str | None]:
        try:
            response = self.client.post(self.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            return 0, {}, f"{type(error).__name__}: {error}"
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        error = None if response.status_code < 400 else str(answer.get("message") if isinstance(answer, dict)
                                                             else response.text[:200])
        return response.status_code, answer, error


class TopicSender:
    """Publishes items with SNS PublishBatch; a valid ride gets a fresh id, as the producer would give it."""

    def __init__(self, sns: Any, topic_arn: str, *, retries: int, sleep: Callable[[float], None] = time.sleep,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.sns, self.topic_arn, self.retries, self.sleep, self.new_id = sns, topic_arn, retries, sleep, new_id

    def __call__(self, items: list[Item]) -> list[Outcome]:
        started = time.monotonic()
        ids = {item.index: self.new_id() for item in items if item.valid}
        pending = {item.index: item for item in items}
        attempts: Counter[int] = Counter()
        done: dict[int, tuple[int, str | None]] = {}
        while pending:
            entries = [self._entry(item, ids.get(item.index)) for item in pending.values()]
            for index in pending:
                attempts[index] += 1
            try:
                response = self.sns.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=entries)
            except (ClientError, BotoCoreError) as error:
                failed = {index: (0, f"{type(error).__name__}: {error}") for index in pending}
                retryable = set(pending)
            else:
                for entry in response.get("Successful", []):
                    done[int(entry["Id"])] = (200, None)
                    pending.pop(int(entry["Id"]), None)
                failed = {int(f["Id"]): (400 if f.get("SenderFault") else 500, f.get("Message"))
                          for f in response.get("Failed", [])}
                retryable = {index for index, (status, _) in failed.items() if status == 500}
            for index, result in failed.items():
                if index not in retryable or attempts[index] > self.retries:
                    done[index] = result
                    pending.pop(index, None)
            if pending:
                self.sleep(backoff(max(attempts[i] for i in pending)))
        latency = time.monotonic() - started
        outcomes = []
        for item in items:
            status, error = done[item.index]
            ride = item.ride or {}
            outcomes.append(Outcome(index=item.index, valid=item.valid, status=status, latency=latency,
                                    attempts=attempts[item.index], ride_id=ids.get(item.index) if status == 200
                                    else None, fare=ride.get("fare"), distance=ride.get("distance"), error=error,
                                    customer=ride.get("customer")))
        return outcomes

    @staticmethod
    def _entry(item: Item, ride_id: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": str(item.index)}
        if item.ride is not None and ride_id is not None:
            ride = {**item.ride, "id": ride_id}
            entry.update(Message=ride_message(ride), MessageAttributes=ride_attributes(ride))
        else:  # an invalid ride published as is: a poison message for the consumers
            entry["Message"] = item.body
        return entry
