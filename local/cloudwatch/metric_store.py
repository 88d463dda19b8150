"""The metric data the alarm evaluator reads, indexed by metric as PutMetricData stores it.

moto keeps every datum of every metric in one list and scans it whole for each query. An alarm loop
that ran every 0.6 s (TIME_SCALE 0.01) over 24 alarms would scan tens of thousands of datums per tick
in the process that is already the local cloud's bottleneck. So each accepted PutMetricData is also
filed here by metric (namespace, name, the full set of dimensions: CloudWatch's metric identity), as
statistics.Datum with its storage resolution scaled like the clock, and data older than the longest
range any alarm could read is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from local.cloudwatch.statistics import Datum

MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]
KEEP_SECONDS = 86_400  # a day of CloudWatch time: more than any alarm's evaluation range here


def metric_key(namespace: str, name: str, dimensions: Iterable[tuple[str, str]]) -> MetricKey:
    return namespace, name, tuple(sorted(dimensions))


class MetricStore:
    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self.keep = KEEP_SECONDS * time_scale
        self.lock = threading.Lock()
        self.series: dict[MetricKey, list[Datum]] = {}

    def add(self, namespace: str, metric_data: Iterable[Mapping[str, Any]], received: datetime | None = None) -> None:
        """File a PutMetricData call that CloudWatch accepted (validated before)."""
        received = received or datetime.now(UTC)
        filed = [(metric_key(namespace, d["MetricName"], ((x["Name"], x["Value"]) for x in d.get("Dimensions") or ())),
                  Datum.from_metric_datum(d, received, self.time_scale)) for d in metric_data]
        oldest = received.timestamp() - self.keep
        with self.lock:
            for key, datum in filed:
                series = self.series.setdefault(key, [])
                series.append(datum)
                if series[0].timestamp < oldest and len(series) % 256 == 0:  # now and then, not at every datum
                    series[:] = [d for d in series if d.timestamp >= oldest]

    def datums(self, key: MetricKey) -> list[Datum]:
        with self.lock:
            return list(self.series.get(key, ()))
