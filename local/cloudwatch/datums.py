"""The MetricData shapes AWS services publish, built from the cheap counters the local cloud keeps.

Services count under a lock on the hot path and publish every few seconds (publisher.py). What they
publish decides which statistics CloudWatch can give back (statistics.py):

- `statistic_set`: {SampleCount, Sum, Minimum, Maximum}. Enough for counts and rates: API Gateway
  publishes an error metric as 0 or 1 per request, so SampleCount is the requests, Sum the errors and
  Average the error rate.
- `distribution`: the raw values with their counts (Values/Counts, at most 150 distinct values a datum),
  for metrics read as percentiles (the API's p99 latency alarm): a statistic set hides the values and
  CloudWatch then has no percentile to give.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from local.cloudwatch.metric_data_errors import MAX_VALUES

Dimensions = list[dict[str, str]]


def dimensions(**names: str) -> Dimensions:
    return [{"Name": name, "Value": value} for name, value in names.items()]


def statistic_set(metric: str, on: Dimensions, at: datetime, unit: str, count: float, total: float, low: float,
                  high: float) -> dict[str, Any]:
    return {"MetricName": metric, "Dimensions": on, "Timestamp": at, "Unit": unit,
            "StatisticValues": {"SampleCount": count, "Sum": total, "Minimum": low, "Maximum": high}}


def events(metric: str, on: Dimensions, at: datetime, count: int) -> dict[str, Any]:
    """`count` events, each published as 1 (SampleCount and Sum are both the count)."""
    return statistic_set(metric, on, at, "Count", count, count, 1, 1)


def rate(metric: str, on: Dimensions, at: datetime, hits: int, out_of: int) -> dict[str, Any]:
    """A 0-or-1 per request metric: `hits` ones among `out_of` samples (Average is the rate)."""
    return statistic_set(metric, on, at, "Count", out_of, hits, 0 if hits < out_of else 1, 1 if hits else 0)


def distribution(metric: str, on: Dimensions, at: datetime, unit: str, values: Counter[float]) -> list[dict[str, Any]]:
    """Values with their counts, in as many datums as it takes (150 distinct values each)."""
    ordered = sorted(values.items())
    return [{"MetricName": metric, "Dimensions": on, "Timestamp": at, "Unit": unit,
             "Values": [v for v, _ in ordered[i:i + MAX_VALUES]], "Counts": [c for _, c in ordered[i:i + MAX_VALUES]]}
            for i in range(0, len(ordered), MAX_VALUES)]
