"""PutMetricData's errors: CloudWatch's limits on a call and on each MetricDatum, and the (code, message)
pairs it answers when one is broken.

What it emulates (CloudWatch API reference, PutMetricData and MetricDatum):

- PutMetricData refuses NaN and ±Infinity, values outside 2^-360..2^360 in magnitude (0 is allowed),
  more than 150 Values, Values and Counts of different sizes, a unit outside CloudWatch's units, more
  than 30 dimensions, more than 1,000 datums per call, empty names, and the AWS/ namespace.
  `validate_put_metric_data` and `validate_datum` return CloudWatch's (code, message) pairs, first
  error first; messages match those AWS returned in public reports where one was found. Numbers may
  come as boto3 sends them or as strings, as the Query API carries them.

Apart from the statistics (local/cloudwatch/statistics.py): a datum is judged here once, when it is put,
and stored there as valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from local.cloudwatch.formats import java_double, utc
from local.cloudwatch.statistics import UNITS

MAX_METRIC_DATA = 1000
MAX_VALUES = 150
MAX_DIMENSIONS = 30
NAME_LENGTH = 255
DIMENSION_VALUE_LENGTH = 1024
LARGEST = 2.0 ** 360
SMALLEST = 2.0 ** -360
TIMESTAMP_PAST_SECONDS = 14 * 86400
TIMESTAMP_FUTURE_SECONDS = 2 * 3600
Problem = tuple[str, str]


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
