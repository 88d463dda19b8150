"""An alarm on one metric as PutMetricAlarm (or AWS::CloudWatch::Alarm) defines it, checked as CloudWatch
checks it, and the state an alarm is in.

What it emulates (CloudWatch API reference, PutMetricAlarm; User Guide, "Using Amazon CloudWatch
alarms"): one of Statistic or ExtendedStatistic (a percentile p0.0 to p100), a period of 10, 20, 30 s or
a multiple of 60, DatapointsToAlarm from 1 to EvaluationPeriods, TreatMissingData and
EvaluateLowSampleCountPercentile among their values; anomaly bands (metric math) are refused. A new alarm
starts INSUFFICIENT_DATA with "Unchecked: Initial alarm creation".

Apart from the evaluation (alarm_evaluation.py) so that the alarm history and service can name a
definition and a state without the evaluator.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local.cloudwatch.statistics import STATISTICS, percentile_rank

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
ANOMALY_OPERATORS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
TREATMENTS = ("missing", "notBreaching", "breaching", "ignore")
INITIAL_REASON = "Unchecked: Initial alarm creation"


@dataclass(frozen=True, slots=True)
class AlarmDefinition:
    """What PutMetricAlarm takes for an alarm on one metric (no metric math, no anomaly band)."""

    name: str
    namespace: str
    metric_name: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    statistic: str | None = None
    extended_statistic: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    evaluate_low_sample_count_percentile: str | None = None
    unit: str | None = None
    description: str | None = None
    ok_actions: tuple[str, ...] = ()
    alarm_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    configuration_updated: datetime | None = None
    _rank: float | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.comparison_operator in ANOMALY_OPERATORS:
            raise ValueError(f"{self.comparison_operator} needs an anomaly detection band (metric math), which "
                             "this evaluator does not support")
        if self.comparison_operator not in OPERATORS:
            raise ValueError(f"ComparisonOperator {self.comparison_operator!r} is not one of {sorted(OPERATORS)}")
        if (self.statistic is None) == (self.extended_statistic is None):
            raise ValueError("an alarm has exactly one of Statistic and ExtendedStatistic")
        if self.statistic is not None and self.statistic not in STATISTICS:
            raise ValueError(f"Statistic {self.statistic!r} is not one of {STATISTICS}")
        rank = None if self.extended_statistic is None else percentile_rank(self.extended_statistic)
        if self.extended_statistic is not None and rank is None:
            raise ValueError(f"ExtendedStatistic {self.extended_statistic!r} is not a percentile p0.0 to p100")
        object.__setattr__(self, "_rank", rank)
        object.__setattr__(self, "threshold", float(self.threshold))
        if self.period not in (10, 20, 30) and (self.period < 60 or self.period % 60):
            raise ValueError(f"Period {self.period} is not 10, 20, 30 or a multiple of 60")
        if not 1 <= self.datapoints_to_alarm_or_n <= self.evaluation_periods:
            raise ValueError("DatapointsToAlarm must be from 1 to EvaluationPeriods")
        if self.treat_missing_data not in (None, *TREATMENTS):
            raise ValueError(f"TreatMissingData {self.treat_missing_data!r} is not one of {TREATMENTS}")
        if self.evaluate_low_sample_count_percentile not in (None, "", "evaluate", "ignore"):
            raise ValueError("EvaluateLowSampleCountPercentile is evaluate or ignore")

    @property
    def datapoints_to_alarm_or_n(self) -> int:
        return self.evaluation_periods if self.datapoints_to_alarm is None else self.datapoints_to_alarm

    @property
    def stat(self) -> str:
        return self.statistic or str(self.extended_statistic)

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any], name: str | None = None) -> AlarmDefinition:
        """From PutMetricAlarm parameters or AWS::CloudWatch::Alarm properties (references resolved)."""
        p = properties
        return cls(
            name=name or p.get("AlarmName", ""), namespace=p["Namespace"], metric_name=p["MetricName"],
            period=int(p["Period"]), evaluation_periods=int(p["EvaluationPeriods"]), threshold=float(p["Threshold"]),
            comparison_operator=p["ComparisonOperator"], statistic=p.get("Statistic"),
            extended_statistic=p.get("ExtendedStatistic"),
            dimensions=tuple((d["Name"], d["Value"]) for d in p.get("Dimensions") or ()),
            datapoints_to_alarm=None if p.get("DatapointsToAlarm") is None else int(p["DatapointsToAlarm"]),
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"), unit=p.get("Unit"),
            description=p.get("AlarmDescription"), ok_actions=tuple(p.get("OKActions") or ()),
            alarm_actions=tuple(p.get("AlarmActions") or ()),
            insufficient_data_actions=tuple(p.get("InsufficientDataActions") or ()))


@dataclass(frozen=True, slots=True)
class AlarmState:
    """The state an alarm is in: StateValue, StateReason, StateReasonData."""

    value: str = INSUFFICIENT_DATA
    reason: str = INITIAL_REASON
    reason_data: str = ""


NEW_ALARM = AlarmState()
