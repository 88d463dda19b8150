"""The AWS/ApiGateway metrics of the local API, for the local CloudWatch: what the stack's API alarms
(5XX errors, p99 latency) and its dashboard read, with the dimensions they read them by (ApiName, Stage).

On AWS a REST API stage publishes, for every answer it gives: Count; 4XXError and 5XXError as 0 or 1
(so Average is the error rate), whoever answered (API Gateway itself: a 403 for a missing or bad
signature, a 429 throttle, a 413; or the function); Latency, from receiving the request to answering
it; and IntegrationLatency, the part spent in the backend, for requests that reached it. Both in
milliseconds. The front door counts each answer here under a lock (a few increments); latencies are
kept as whole milliseconds with their counts and published as Values/Counts, so that percentiles can be
computed from them.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from local.cloudwatch.datums import dimensions, distribution, events, rate

NAMESPACE = "AWS/ApiGateway"


class ApiMetrics:
    def __init__(self, api_name: str, stage: str) -> None:
        self.on = dimensions(ApiName=api_name, Stage=stage)
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.count = self.client_errors = self.server_errors = 0
        self.latency: Counter[float] = Counter()
        self.integration_latency: Counter[float] = Counter()

    def answered(self, status: int, latency_ms: float, integration_ms: float | None = None) -> None:
        with self.lock:
            self.count += 1
            self.client_errors += 400 <= status < 500
            self.server_errors += status >= 500
            self.latency[float(round(latency_ms))] += 1
            if integration_ms is not None:
                self.integration_latency[float(round(integration_ms))] += 1

    def drain(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """MetricData for every answer since the last drain (then count afresh)."""
        at = now or datetime.now(UTC)
        with self.lock:
            count, client, server = self.count, self.client_errors, self.server_errors
            latency, integration = self.latency, self.integration_latency
            self._reset()
        if not count:
            return []
        return [events("Count", self.on, at, count), rate("4XXError", self.on, at, client, count),
                rate("5XXError", self.on, at, server, count),
                *distribution("Latency", self.on, at, "Milliseconds", latency),
                *distribution("IntegrationLatency", self.on, at, "Milliseconds", integration)]
