"""Metric datapoints as PutMetricData stores them, and the statistics of a period.

What it emulates (CloudWatch User Guide, "CloudWatch statistics definitions" and "Metrics concepts";
API reference, PutMetricData and MetricDatum):

- A datum is a single Value, Values with Counts (each value occurred Count times, 1 when Counts is
  omitted), or a statistic set {SampleCount, Sum, Minimum, Maximum}. A datum without Unit has the
  unit "None". Standard-resolution data is stored per minute, high-resolution (StorageResolution 1)
  per second, so a timestamp is truncated to its storage resolution.
- The statistics of a period: SampleCount, Sum, Average (Sum/SampleCount), Minimum, Maximum, and
  percentiles pNN with up to ten decimals (p0 to p100). "p99 is the maximum value of the remaining
  99%" (nearest rank). Percentiles need raw values: from a statistic set only when SampleCount is 1
  with Minimum, Maximum and Sum equal, or Minimum equals Maximum and Sum is Minimum * SampleCount;
  and none at all "when any of the metric values are negative numbers". Otherwise: None.
- Periods: `aggregate` cuts [start, end) into consecutive periods from `start`. CloudWatch does not
  align them to the epoch: an alarm's periods end at the latest whole minute ("at the end of minute 6,
  the alarm is evaluated based on the data from minutes 2 to 6"; see alarm_evaluation).
- A datapoint with a Unit is aggregated apart from other units; a query without one reads them all.

PutMetricData's errors (what it refuses, and how CloudWatch says so) are in metric_data_errors.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.cloudwatch.formats import epoch_to_datetime, utc

UNITS = ("Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None")
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"p(100(?:\.0{1,10})?|\d{1,2}(?:\.\d{1,10})?)")

EPSILON = 1e-5  # of a step: scaled steps (0.6 s) are not exact in binary; a time on a boundary stays on it


@dataclass(frozen=True, slots=True)
class Datum:
    """One stored MetricDatum. `samples` are (value, count) pairs; None when a statistic set hides them."""

    timestamp: float
    sample_count: float
    sum: float
    minimum: float
    maximum: float
    samples: tuple[tuple[float, float], ...] | None
    unit: str = "None"

    @classmethod
    def value(cls, at: datetime, value: float, unit: str = "None", storage_resolution: int = 60,
              time_scale: float = 1.0) -> Datum:
        return cls.values(at, [value], None, unit, storage_resolution, time_scale)

    @classmethod
    def values(cls, at: datetime, values: Sequence[float], counts: Sequence[float] | None = None,
               unit: str = "None", storage_resolution: int = 60, time_scale: float = 1.0) -> Datum:
        pairs = tuple((float(v), float(c)) for v, c in zip(values, counts or [1.0] * len(values), strict=True)
                      if float(c) > 0)
        present = [v for v, _ in pairs] or [math.nan]
        return cls(_stored(at, storage_resolution, time_scale), sum(c for _, c in pairs),
                   sum(v * c for v, c in pairs), min(present), max(present), pairs, unit)

    @classmethod
    def statistic_set(cls, at: datetime, sample_count: float, total: float, minimum: float, maximum: float,
                      unit: str = "None", storage_resolution: int = 60, time_scale: float = 1.0) -> Datum:
        sample_count, total, minimum, maximum = map(float, (sample_count, total, minimum, maximum))
        exact = minimum == maximum and total == minimum * sample_count  # covers SampleCount 1, Min = Max = Sum
        samples = ((minimum, sample_count),) if exact else None
        return cls(_stored(at, storage_resolution, time_scale), sample_count, total, minimum, maximum, samples, unit)

    @classmethod
    def from_metric_datum(cls, datum: Mapping[str, Any], received: datetime, time_scale: float = 1.0) -> Datum:
        """A validated PutMetricData MetricDatum; one without Timestamp is stamped when received. With a
        `time_scale` below 1 (the local cloud's TIME_SCALE) the storage resolution shrinks with it."""
        at = datum.get("Timestamp") or received
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        unit, resolution = datum.get("Unit") or "None", int(datum.get("StorageResolution") or 60)
        if "StatisticValues" in datum:
            s = datum["StatisticValues"]
            return cls.statistic_set(at, s["SampleCount"], s["Sum"], s["Minimum"], s["Maximum"], unit, resolution,
                                     time_scale)
        if "Values" in datum:
            return cls.values(at, datum["Values"], datum.get("Counts"), unit, resolution, time_scale)
        return cls.value(at, datum["Value"], unit, resolution, time_scale)

    @property
    def time(self) -> datetime:
        return epoch_to_datetime(self.timestamp)


def _stored(at: datetime, storage_resolution: int, time_scale: float = 1.0) -> float:
    """The timestamp CloudWatch keeps: to the second for high resolution, else to the minute (both scaled)."""
    step = (1 if storage_resolution == 1 else 60) * time_scale
    return math.floor(utc(at).timestamp() / step + EPSILON) * step


@dataclass(slots=True)
class Bucket:
    """The datapoints of one period [start, start + period): what a statistic is computed from."""

    start: float
    sample_count: float = 0.0
    sum: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    samples: list[tuple[float, float]] | None = field(default_factory=list)

    def add(self, datum: Datum, keep_samples: bool = True) -> None:
        self.sample_count += datum.sample_count
        self.sum += datum.sum
        self.minimum = min(self.minimum, datum.minimum)
        self.maximum = max(self.maximum, datum.maximum)
        if not keep_samples or self.samples is None:
            return
        if datum.samples is None:
            self.samples = None
        else:
            self.samples.extend(datum.samples)

    @property
    def time(self) -> datetime:
        return epoch_to_datetime(self.start)

    def statistic(self, name: str) -> float | None:
        """SampleCount, Average, Sum, Minimum, Maximum or pNN; None where CloudWatch has no value."""
        if name in STATISTICS:
            return {"SampleCount": self.sample_count, "Sum": self.sum, "Average": self.sum / self.sample_count,
                    "Minimum": self.minimum, "Maximum": self.maximum}[name]
        rank = percentile_rank(name)
        if rank is None:
            raise ValueError(f"{name} is not a CloudWatch statistic")
        return None if self.samples is None else percentile(self.samples, rank)


def percentile_rank(statistic: str) -> float | None:
    """99.9 for p99.9; None for anything that is not a percentile statistic."""
    match = _PERCENTILE.fullmatch(statistic)
    return float(match.group(1)) if match else None


def percentile(samples: Iterable[tuple[float, float]], rank: float) -> float | None:
    """Nearest rank over (value, count) pairs: the smallest value with rank% of the counts at or below it."""
    ordered = sorted(samples)
    total = sum(count for _, count in ordered)
    if not ordered or total <= 0 or ordered[0][0] < 0:
        return None
    target = rank / 100.0 * total * (1 - 1e-12)
    seen = 0.0
    for value, count in ordered:
        seen += count
        if seen >= target:
            return value
    return ordered[-1][0]


def low_sample_threshold(rank: float) -> float:
    """Fewer samples than this make a percentile "not statistically significant": 10/(1-p) from p0.5
    (inclusive) to 1 (exclusive), 10/p between 0 and 0.5 (User Guide, "Percentile-based alarms and low
    data samples"); p0 and p100 are the minimum and maximum, and have no such rule."""
    if 50 <= rank < 100:
        return round(1000 / (100 - rank), 6)  # in percent, rounded: p99 needs 1,000 samples, not 999.9999
    return round(1000 / rank, 6) if 0 < rank < 50 else 0.0


def fill_buckets(datums: Iterable[Datum], start: float, count: int, period: float, unit: str | None = None,
                 keep_samples: bool = True) -> list[Bucket | None]:
    """`count` periods from `start` (epoch seconds), oldest first; None where no datum fell."""
    buckets: list[Bucket | None] = [None] * count
    end = start + count * period
    for datum in datums:
        at = datum.timestamp
        if at < start or at >= end or datum.sample_count <= 0 or (unit is not None and datum.unit != unit):
            continue
        index = int((at - start) / period + EPSILON)
        bucket = buckets[index]
        if bucket is None:
            bucket = buckets[index] = Bucket(start + index * period)
        bucket.add(datum, keep_samples)
    return buckets


def aggregate(datums: Iterable[Datum], start: datetime, end: datetime, period: int,
              unit: str | None = None) -> list[Bucket | None]:
    """The periods of [start, end), the last one cut at `end`, oldest first; None where no data fell."""
    first, last = utc(start).timestamp(), utc(end).timestamp()
    return fill_buckets([d for d in datums if d.timestamp < last], first, math.ceil((last - first) / period),
                        period, unit)


