"""Metric datapoints as PutMetricData stores them, the statistics of a period, and PutMetricData's errors.

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
- PutMetricData refuses NaN and ±Infinity, values outside 2^-360..2^360 in magnitude (0 is allowed),
  more than 150 Values, Values and Counts of different sizes, a unit outside CloudWatch's units, more
  than 30 dimensions, more than 1,000 datums per call, empty names, and the AWS/ namespace.
  `validate_put_metric_data` and `validate_datum` return CloudWatch's (code, message) pairs, first
  error first; messages match those AWS returned in public reports where one was found. Numbers may
  come as boto3 sends them or as strings, as the Query API carries them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.cloudwatch.formats import epoch_to_datetime, java_double, utc

UNITS = ("Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None")
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
MAX_METRIC_DATA = 1000
MAX_VALUES = 150
MAX_DIMENSIONS = 30
NAME_LENGTH = 255
DIMENSION_VALUE_LENGTH = 1024
LARGEST = 2.0 ** 360
SMALLEST = 2.0 ** -360
TIMESTAMP_PAST_SECONDS = 14 * 86400
TIMESTAMP_FUTURE_SECONDS = 2 * 3600
_PERCENTILE = re.compile(r"p(100(?:\.0{1,10})?|\d{1,2}(?:\.\d{1,10})?)")

Problem = tuple[str, str]
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


def _number(value: Any) -> float | None:
    """A number as the Query API carries it (a string) or as boto3 sends it; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _bad_number(value: Any, parameter: str, negative: bool = True) -> Problem | None:
    number = _number(value)
    if number is None:
        return "InvalidParameterValue", f"The value {value} for parameter {parameter} is invalid."
    if (math.isnan(number) or math.isinf(number) or (number != 0 and not SMALLEST <= abs(number) <= LARGEST)
            or (number < 0 and not negative)):
        return "InvalidParameterValue", f"The value {java_double(number)} for parameter {parameter} is invalid."
    return None


def _bad_name(value: Any, parameter: str, longest: int = NAME_LENGTH) -> Problem | None:
    if not isinstance(value, str) or not value.strip():
        return "MissingParameter", f"The parameter {parameter} is required."
    if len(value) > longest:
        return "InvalidParameterValue", f"The parameter {parameter} must be shorter than {longest + 1} characters."
    return None


def _exclusive(code: str, first: str, second: str) -> Problem:
    return code, f"The parameters {first} and {second} are mutually exclusive and you have specified both."


def validate_datum(datum: Mapping[str, Any], index: int = 1, now: datetime | None = None) -> list[Problem]:
    """CloudWatch's errors for MetricData.member.<index>, first error first; [] when it is accepted."""
    name = f"MetricData.member.{index}"
    problems = [p for p in [_bad_name(datum.get("MetricName"), f"{name}.MetricName")] if p]
    dimensions = datum.get("Dimensions") or []
    if len(dimensions) > MAX_DIMENSIONS:
        problems.append(("InvalidParameterValue",
                         f"The collection {name}.Dimensions must not have a size greater than {MAX_DIMENSIONS}."))
    for number, dimension in enumerate(dimensions[:MAX_DIMENSIONS], start=1):
        where, dimension = f"{name}.Dimensions.member.{number}", dimension if isinstance(dimension, Mapping) else {}
        problems += [p for p in (_bad_name(dimension.get("Name"), f"{where}.Name"),
                                 _bad_name(dimension.get("Value"), f"{where}.Value", DIMENSION_VALUE_LENGTH)) if p]
    given = [key for key in ("Value", "Values", "StatisticValues") if datum.get(key) is not None]
    if "StatisticValues" in given and len(given) > 1:
        problems.append(_exclusive("InvalidParameterCombination", f"{name}.{given[0]}", f"{name}.StatisticValues"))
    elif given == ["Value", "Values"]:
        problems.append(_exclusive("InvalidParameterValue", f"{name}.Value", f"{name}.Values"))
    elif not given:
        problems.append(("MissingParameter", f"At least one of the parameters {name}.Value or "
                                             f"{name}.StatisticValues must be specified."))
    if "Value" in given:
        problems += [p for p in [_bad_number(datum["Value"], f"{name}.Value")] if p]
    values, counts = datum.get("Values") or [], datum.get("Counts")
    if len(values) > MAX_VALUES:
        problems.append(("InvalidParameterValue",
                         f"The collection {name}.Values must not have a size greater than {MAX_VALUES}."))
    problems += [p for i, v in enumerate(values, 1) if (p := _bad_number(v, f"{name}.Values.member.{i}"))]
    if counts is not None and len(counts) != len(values):
        problems.append(("InvalidParameterValue",
                         f"The parameters {name}.Values and {name}.Counts must be of the same size."))
    problems += [p for i, c in enumerate(counts or [], 1) if (p := _bad_number(c, f"{name}.Counts.member.{i}", False))]
    if "StatisticValues" in given:
        problems += _statistic_set_problems(datum["StatisticValues"], f"{name}.StatisticValues")
    unit = datum.get("Unit")
    if unit is not None and unit not in UNITS:
        problems.append(("InvalidParameterValue",
                         f"The parameter {name}.Unit must be a value in the set [ {', '.join(UNITS)} ]."))
    resolution = datum.get("StorageResolution")
    if resolution is not None and resolution not in (1, 60):
        problems.append(("InvalidParameterValue", f"The parameter {name}.StorageResolution must be a value in "
                                                  f"the set [ 1, 60 ]."))
    at = datum.get("Timestamp")
    if now is not None and isinstance(at, datetime):
        age = utc(now).timestamp() - utc(at).timestamp()
        if not -TIMESTAMP_FUTURE_SECONDS <= age <= TIMESTAMP_PAST_SECONDS:
            problems.append(("InvalidParameterValue",
                             f"The parameter {name}.Timestamp must specify a time within the past two weeks."))
    return problems


def _statistic_set_problems(values: Mapping[str, Any], name: str) -> list[Problem]:
    missing = [("MissingParameter", f"The parameter {name}.{key} is required.")
               for key in ("Maximum", "Minimum", "SampleCount", "Sum") if values.get(key) is None]
    if missing:
        return missing
    problems = [p for key in ("SampleCount", "Sum", "Minimum", "Maximum")
                if (p := _bad_number(values[key], f"{name}.{key}"))]
    if problems:
        return problems
    if float(values["SampleCount"]) <= 0:
        problems.append(("InvalidParameterValue", f"The parameter {name}.SampleCount must be greater than 0."))
    if float(values["Maximum"]) < float(values["Minimum"]):
        problems.append(("InvalidParameterValue",
                         f"The parameter {name}.Maximum must be greater than {name}.Minimum."))
    return problems


def validate_put_metric_data(namespace: Any, metric_data: Sequence[Mapping[str, Any]] | None,
                             now: datetime | None = None, allow_aws_namespace: bool = False) -> list[Problem]:
    """CloudWatch's errors for a whole PutMetricData call; AWS answers with the first one."""
    problems = [p for p in [_bad_name(namespace, "Namespace")] if p]
    if not problems and namespace.startswith("AWS/") and not allow_aws_namespace:
        problems.append(("InvalidParameterValue", "The value AWS/ for parameter Namespace is invalid."))
    if not metric_data:
        return [*problems, ("MissingParameter", "The parameter MetricData is required.")]
    if len(metric_data) > MAX_METRIC_DATA:
        problems.append(("InvalidParameterValue",
                         f"The collection MetricData must not have a size greater than {MAX_METRIC_DATA}."))
    for index, datum in enumerate(metric_data[:MAX_METRIC_DATA], start=1):
        problems += validate_datum(datum, index, now)
    return problems
