"""PutMetricData as CloudWatch answers it, in front of moto (5.2)'s metric store.

moto checks little: a NaN Value, Values against Counts, a statistic set's keys. Infinity, 10,000 values,
a unit CloudWatch does not know, 1,000 dimensions or a Maximum below the Minimum are stored, and an
evaluation that reads them later breaks or lies. And moto stores Values with Counts as one datum per
value per count: Counts [1e9] allocates a billion objects, a count of 0.5 is dropped. So here:

- every call is judged by `metric_data_errors.validate_put_metric_data` first and refused with CloudWatch's
  first error (its code and message, HTTP 400), as AWS answers it;
- the AWS/ namespace is refused for callers, as on AWS; the local cloud's own services publish theirs
  in process (`put_service_metrics`, used directly by the AWS process and through the control endpoint
  `POST /_localcloud/metrics` by the local cloud's other process);
- Values with Counts become one `SampledDatum`: a moto statistic set (moto's own statistics read its
  SampleCount, Sum, Minimum, Maximum) that keeps its (value, count) pairs, which `stored_datum` hands to
  statistics.Datum so that percentiles can be computed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.exceptions import CloudWatchException
from moto.cloudwatch.models import CloudWatchBackend, MetricAggregatedDatum, MetricDatum, cloudwatch_backends

from local.cloudwatch.formats import utc
from local.cloudwatch.metric_data_errors import validate_put_metric_data
from local.cloudwatch.statistics import Datum

_installed: dict[str, Any] = {}
_service = threading.local()  # set while the local cloud's own services publish


class SampledDatum(MetricAggregatedDatum):
    """Values with Counts, stored once: a statistic set for moto, its pairs for percentiles."""

    def __init__(self, namespace: str, name: str, samples: tuple[tuple[float, float], ...],
                 dimensions: list[dict[str, str]], timestamp: datetime | None, unit: Any = None) -> None:
        values = [v for v, _ in samples] or [0.0]
        super().__init__(namespace, name, min(values), max(values), sum(c for _, c in samples),
                         sum(v * c for v, c in samples), dimensions, timestamp, unit)
        self.samples = samples


def _time(value: Any) -> datetime | None:
    """As moto keeps times: naive UTC (it compares them with naive ones)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return None if moment is None else utc(moment).replace(tzinfo=None)


def _stored(namespace: str, datum: Mapping[str, Any]) -> Any:
    name, on, at, unit = datum["MetricName"], datum.get("Dimensions") or [], _time(datum.get("Timestamp")), datum.get(
        "Unit")
    if datum.get("StatisticValues") is not None:
        s = {key: float(value) for key, value in datum["StatisticValues"].items()}
        return MetricAggregatedDatum(namespace, name, s["Minimum"], s["Maximum"], s["SampleCount"], s["Sum"], on, at,
                                     unit)
    if datum.get("Values"):
        values = [float(v) for v in datum["Values"]]
        counts = [float(c) for c in datum.get("Counts") or [1.0] * len(values)]
        return SampledDatum(namespace, name, tuple((v, c) for v, c in zip(values, counts, strict=True) if c > 0),
                            on, at, unit)
    return MetricDatum(namespace, name, float(datum["Value"]), on, at, unit)


def _put(backend: CloudWatchBackend, namespace: str, metric_data: Sequence[Mapping[str, Any]]) -> None:
    # Callers are judged; the local cloud's own services are not (AWS does not validate its own metrics, and
    # judging every latency value was 4% of the AWS process's CPU at load, measured with py-spy --gil).
    if not getattr(_service, "publishing", False):
        problems = validate_put_metric_data(namespace, metric_data, now=datetime.now(UTC))
        if problems:
            raise CloudWatchException(*problems[0])
    backend.metric_data.extend(_stored(namespace, datum) for datum in metric_data)
    for listener in _installed.get("listeners", ()):  # the alarm evaluator files what was accepted
        listener(namespace, metric_data)


def put_service_metrics(namespace: str, metric_data: Sequence[Mapping[str, Any]], account: str, region: str) -> None:
    """Metrics an AWS service publishes (AWS/...), into this process's CloudWatch; refused as a caller would be."""
    _service.publishing = True
    try:
        cloudwatch_backends[account][region].put_metric_data(namespace, list(metric_data))
    finally:
        _service.publishing = False


def stored_datum(stored: Any) -> Datum:
    """moto's stored datum as statistics.Datum (a SampledDatum keeps its values for percentiles)."""
    at, unit = stored.timestamp, stored.unit or "None"
    if isinstance(stored, SampledDatum):
        return Datum.values(at, [v for v, _ in stored.samples], [c for _, c in stored.samples], unit)
    if isinstance(stored, MetricAggregatedDatum):
        return Datum.statistic_set(at, stored.sample_count, stored.sum, stored.min, stored.max, unit)
    return Datum.value(at, stored.value, unit)


def install(on_stored: Callable[[str, Sequence[Mapping[str, Any]]], None] | None = None) -> None:
    """Route moto's PutMetricData through `_put` (idempotent); `on_stored` hears of every accepted call."""
    _installed["listeners"] = [on_stored] if on_stored else []
    if "original" not in _installed:
        _installed["original"] = CloudWatchBackend.put_metric_data
        CloudWatchBackend.put_metric_data = _put  # type: ignore[method-assign]


def uninstall() -> None:
    if "original" in _installed:
        CloudWatchBackend.put_metric_data = _installed.pop("original")  # type: ignore[method-assign]
    _installed.clear()
