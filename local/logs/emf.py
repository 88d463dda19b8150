"""Embedded metric format (EMF): the metric data CloudWatch Logs extracts from one log event.

CloudWatch User Guide, "Specification: Embedded metric format". A log event is EMF when its message is one
JSON object whose `_aws` member holds `Timestamp` (milliseconds since the epoch) and `CloudWatchMetrics`,
an array of metric directives: `Namespace`, `Dimensions` (an array of dimension sets, each an array of up
to 30 root member names whose values are strings) and `Metrics` (up to 100 definitions: `Name`, optional
`Unit`, optional `StorageResolution` 1 or 60). Each metric's value is the root member of its name: a
number, or an array of up to 100 numbers. Every directive yields one metric per dimension set (an empty
set: no dimensions; no set at all: one metric without dimensions).

An event that is not valid EMF is still a log event; CloudWatch extracts nothing from it (and counts it
in AWS/Logs EMFParsingErrors or EMFValidationErrors). So `extract` returns nothing for an event it cannot
take whole: not JSON, no `_aws`, a missing or non-numeric value, too many values, a bad unit. Only
messages that start with `{` and contain `"_aws"` are parsed, so ordinary log lines cost a string test.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from json import JSONDecodeError, loads
from typing import Any

from local.cloudwatch.statistics import UNITS

MAX_DIMENSION_KEYS = 30
MAX_METRICS = 100
MAX_VALUES = 100
MAX_DIMENSION_VALUE = 1024

Extracted = list[tuple[str, list[dict[str, Any]]]]  # (namespace, MetricData as PutMetricData takes it)


class Invalid(ValueError):
    """The event has `_aws` but breaks the specification (CloudWatch: an EMF validation error)."""


def is_candidate(message: str) -> bool:
    return message.startswith("{") and '"_aws"' in message


def extract(message: str) -> Extracted:
    """The metric data of an EMF event; [] for anything else, valid EMF or not (see `parse` for why)."""
    if not is_candidate(message):
        return []
    try:
        return parse(message)
    except (Invalid, JSONDecodeError, RecursionError):
        return []


def parse(message: str) -> Extracted:
    """The metric data of an EMF event; JSONDecodeError or Invalid (with the reason) when it is not valid."""
    root = loads(message.strip(), parse_constant=_no_constant)
    if not isinstance(root, dict) or not isinstance(root.get("_aws"), dict):
        raise Invalid("the root must be an object with an _aws object")
    meta = root["_aws"]
    timestamp, directives = meta.get("Timestamp"), meta.get("CloudWatchMetrics")
    if not _number(timestamp):
        raise Invalid("_aws.Timestamp must be a number (milliseconds since the epoch)")
    if not isinstance(directives, list):
        raise Invalid("_aws.CloudWatchMetrics must be an array")
    when = datetime.fromtimestamp(timestamp / 1000, UTC)
    return [_directive(root, directive, when) for directive in directives]


def _directive(root: dict[str, Any], directive: Any, when: datetime) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(directive, dict):
        raise Invalid("a metric directive must be an object")
    namespace, dimension_sets, metrics = directive.get("Namespace"), directive.get("Dimensions"), directive.get(
        "Metrics")
    if not isinstance(namespace, str) or not namespace or namespace.startswith(":"):
        raise Invalid("Namespace must be a non-empty string")
    if dimension_sets is None:
        dimension_sets = [[]]
    if not isinstance(dimension_sets, list) or not all(isinstance(s, list) for s in dimension_sets):
        raise Invalid("Dimensions must be an array of dimension sets (arrays)")
    if not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
        raise Invalid(f"Metrics must be an array of at most {MAX_METRICS} definitions")
    dimensions = [_dimensions(root, keys) for keys in (dimension_sets or [[]])]
    data = []
    for definition in metrics:
        datum = _metric(root, definition, when)
        data += [{**datum, "Dimensions": chosen} for chosen in dimensions]
    return namespace, data


def _dimensions(root: dict[str, Any], keys: list[Any]) -> list[dict[str, str]]:
    if len(keys) > MAX_DIMENSION_KEYS:
        raise Invalid(f"a dimension set may hold at most {MAX_DIMENSION_KEYS} keys")
    found = []
    for key in keys:
        value = root.get(key) if isinstance(key, str) else None
        if not isinstance(value, str) or not value or len(value) > MAX_DIMENSION_VALUE:
            raise Invalid(f"dimension {key!r} must be a root member with a string value")
        found.append({"Name": key, "Value": value})
    return found


def _metric(root: dict[str, Any], definition: Any, when: datetime) -> dict[str, Any]:
    if not isinstance(definition, dict) or not isinstance(definition.get("Name"), str) or not definition["Name"]:
        raise Invalid("a metric definition needs a Name")
    name, unit = definition["Name"], definition.get("Unit", "None")
    resolution = definition.get("StorageResolution", 60)
    if unit not in UNITS:
        raise Invalid(f"{name}: {unit!r} is not a CloudWatch unit")
    if resolution not in (1, 60) or isinstance(resolution, bool):
        raise Invalid(f"{name}: StorageResolution must be 1 or 60")
    value = root.get(name)
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES or not all(_number(v) for v in values):
        raise Invalid(f"{name}: the value must be a number or an array of 1 to {MAX_VALUES} numbers")
    datum: dict[str, Any] = {"MetricName": name, "Timestamp": when, "Unit": unit, "StorageResolution": resolution}
    if isinstance(value, list):
        datum["Values"] = [float(v) for v in values]
    else:
        datum["Value"] = float(value)
    return datum


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _no_constant(name: str) -> Any:
    raise Invalid(f"{name} is not JSON")
