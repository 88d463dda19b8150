"""CloudWatch alarms in a template: what each watches, its condition, and whom it notifies.

What an alarm watches is read from its metric dimensions: a token names the resource directly, a
literal string is matched against resources' name properties (an API Gateway alarm's `ApiName`).
A dimension that names a resource the diagram does not draw (a stage) is followed one hop to one it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from review.template import Template

ALARM_TYPE = "AWS::CloudWatch::Alarm"
_OPERATORS = {
    "GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": ">=", "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=", "LessThanLowerOrGreaterThanUpperThreshold": "outside band",
    "LessThanLowerThreshold": "below band", "GreaterThanUpperThreshold": "above band",
}


@dataclass(frozen=True, kw_only=True)
class Alarm:
    logical_id: str
    name: str
    watches: str | None  # logical id of the resource its metric is about
    metric: str
    condition: str  # "Maximum > 100 for 5 of 5 x 60 s"
    actions: tuple[str, ...]  # logical ids of what it notifies (topics)
    description: str
    dimensions: str = ""  # "service=UnicornManagement": what a custom metric is about

    def watched(self, template: Template) -> str:
        """What the alarm is about: the resource it watches, else its metric's dimensions."""
        return template.name(self.watches) if self.watches else (self.dimensions or "(no dimensions)")

    def as_dict(self, template: Template) -> dict[str, Any]:
        return {"logical_id": self.logical_id, "name": self.name,
                "watches": template.name(self.watches) if self.watches else None, "dimensions": self.dimensions,
                "metric": self.metric, "condition": self.condition,
                "actions": [template.name(a) for a in self.actions], "description": self.description}


def _metric_dimensions(props: dict[str, Any]) -> list[dict[str, Any]]:
    dimensions = list(props.get("Dimensions") or [])
    for query in props.get("Metrics") or []:
        dimensions += (((query.get("MetricStat") or {}).get("Metric") or {}).get("Dimensions") or [])
    return dimensions


def _metric_name(props: dict[str, Any]) -> str:
    if props.get("MetricName"):
        return f"{props.get('Namespace', '')} {props['MetricName']}".strip()
    names = [f"{m['MetricStat']['Metric'].get('Namespace', '')} {m['MetricStat']['Metric'].get('MetricName', '')}"
             for m in props.get("Metrics") or [] if m.get("MetricStat")]
    expressions = [m["Expression"] for m in props.get("Metrics") or [] if m.get("Expression")]
    return "; ".join([*expressions, *names]) or "metric math"


def _condition(props: dict[str, Any], template: Template) -> str:
    operator = _OPERATORS.get(props.get("ComparisonOperator", ""), props.get("ComparisonOperator", "?"))
    statistic = props.get("Statistic") or props.get("ExtendedStatistic") or ""
    threshold = template.describe(props.get("Threshold", props.get("ThresholdMetricId", "?")))
    periods = props.get("EvaluationPeriods", 1)
    datapoints = props.get("DatapointsToAlarm", periods)
    period = props.get("Period")
    window = f"{datapoints} of {periods} x {period} s" if period else f"{datapoints} of {periods} periods"
    return f"{statistic} {operator} {threshold} for {window}".strip()


def watched_resource(template: Template, props: dict[str, Any], is_node: Callable[[str], bool]) -> str | None:
    candidates: list[str] = []
    for dimension in _metric_dimensions(props):
        value = dimension.get("Value")
        if isinstance(value, str):
            found = template.find_by_name(value)
            candidates += [found] if found else []
        else:
            candidates += template.references(value)
    for candidate in candidates:
        if is_node(candidate):
            return candidate
    for candidate in candidates:  # one hop: a stage names its API
        hop = next((ref for ref in template.references(template.props(candidate)) if is_node(ref)), None)
        if hop:
            return hop
    return candidates[0] if candidates else None


def read_alarms(template: Template, is_node: Callable[[str], bool] = lambda _: True) -> list[Alarm]:
    alarms = []
    for lid, resource in template.of_type(ALARM_TYPE):
        props = resource.get("Properties") or {}
        alarms.append(Alarm(
            logical_id=lid, name=template.name(lid), watches=watched_resource(template, props, is_node),
            metric=_metric_name(props), condition=_condition(props, template),
            actions=tuple(template.references(props.get("AlarmActions", []))),
            description=template.describe(props.get("AlarmDescription", "")),
            dimensions=", ".join(f"{d.get('Name')}={template.describe(d.get('Value'))}"
                                 for d in _metric_dimensions(props))))
    return alarms
