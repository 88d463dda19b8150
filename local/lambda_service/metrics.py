"""The AWS/Lambda metrics of the local functions, for the local CloudWatch (local/cloudwatch/publisher.py
sends them, with the queues' AWS/SQS metrics).

On AWS, Lambda publishes Invocations, Errors, Throttles, Duration and ConcurrentExecutions per
function (dimension FunctionName). The local cloud does the same, so that dashboards, alarms' metrics
and `wildrydes watch` read one source, local or deployed. Figures accumulate between publishes (every
few seconds) and are sent as statistic sets, which CloudWatch aggregates per period.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.lambda_service.invocations import InvocationRecord

NAMESPACE = "AWS/Lambda"


@dataclass
class _Accumulated:
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    durations: list[float] = field(default_factory=list)
    running: int = 0
    max_running: int = 0


class LambdaMetrics:
    """Thread-safe counters per function name, drained into CloudWatch MetricData."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.functions: dict[str, _Accumulated] = {}

    def _of(self, function_name: str) -> _Accumulated:
        return self.functions.setdefault(function_name, _Accumulated())

    def begin(self, function_name: str) -> None:
        with self.lock:
            figures = self._of(function_name)
            figures.running += 1
            figures.max_running = max(figures.max_running, figures.running)

    def end(self, record: InvocationRecord) -> None:
        with self.lock:
            figures = self._of(record.function_name)
            figures.running -= 1
            figures.invocations += 1
            figures.errors += record.error_type is not None
            figures.durations.append(record.duration_ms)

    def throttled(self, function_name: str) -> None:
        with self.lock:
            self._of(function_name).throttles += 1

    def drain(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """MetricData for everything since the last drain (then start counting afresh)."""
        timestamp = now or datetime.now(UTC)
        data: list[dict[str, Any]] = []
        with self.lock:
            for name, f in self.functions.items():
                dimensions = [{"Name": "FunctionName", "Value": name}]

                def datum(metric: str, unit: str, count: int, total: float, low: float, high: float,
                          dimensions: list[dict[str, str]] = dimensions) -> None:
                    data.append({"MetricName": metric, "Dimensions": dimensions,
                                 "Timestamp": timestamp, "Unit": unit, "StatisticValues": {
                                     "SampleCount": count, "Sum": total, "Minimum": low, "Maximum": high}})

                if f.invocations:
                    datum("Invocations", "Count", f.invocations, f.invocations, 1, 1)
                    datum("Errors", "Count", f.invocations, f.errors, 0, 1 if f.errors else 0)
                    datum("Duration", "Milliseconds", len(f.durations), sum(f.durations), min(f.durations),
                          max(f.durations))
                if f.throttles:
                    datum("Throttles", "Count", f.throttles, f.throttles, 1, 1)
                if f.max_running:
                    datum("ConcurrentExecutions", "Count", 1, f.max_running, f.max_running, f.max_running)
                self.functions[name] = _Accumulated(running=f.running, max_running=f.running)
        return data
