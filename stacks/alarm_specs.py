"""Alarms built one way everywhere: a list of specs, each over its threshold for N periods in a row."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cw
from constructs import Construct


@dataclass(frozen=True)
class AlarmSpec:
    alarm_id: str  # the construct id is `{alarm_id}Alarm`
    metric: cw.IMetric
    threshold: float  # alarms when the metric is greater than this
    periods: int  # for this many periods in a row
    description: str


def build_alarms(scope: Construct, specs: list[AlarmSpec]) -> list[cw.Alarm]:
    """Missing data is not breaching: no traffic is not a problem."""
    return [
        cw.Alarm(scope, f"{spec.alarm_id}Alarm", metric=spec.metric, threshold=spec.threshold,
                 evaluation_periods=spec.periods, datapoints_to_alarm=spec.periods,
                 comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                 treat_missing_data=cw.TreatMissingData.NOT_BREACHING, alarm_description=spec.description)
        for spec in specs
    ]
