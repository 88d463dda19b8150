"""CloudWatch statistics of a period and PutMetricData's answers to hostile input (local/cloudwatch/statistics.py).

Sources: CloudWatch User Guide, "CloudWatch statistics definitions" and "Metrics concepts"; API
reference, PutMetricData. Error messages: those AWS returned in public reports where one was found.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from local.cloudwatch.metric_data_errors import MAX_METRIC_DATA, validate_datum, validate_put_metric_data
from local.cloudwatch.statistics import UNITS, Datum, aggregate, low_sample_threshold, percentile, percentile_rank

T0 = datetime(2026, 4, 12, 13, 40, tzinfo=UTC)


def one_period(*datums: Datum, period: int = 60, unit: str | None = None):
    [bucket] = aggregate(datums, T0, T0 + timedelta(seconds=period), period, unit)
    return bucket


def test_values_and_counts_give_every_statistic_and_p99_from_the_raw_values():
    """Proves: Values with Counts are counted Count times each, and pNN is the nearest rank over them."""
    # Given 1,000 latencies sent as Values/Counts: 900 x 10 ms, 95 x 20 ms, 5 x 5,000 ms
    datum = Datum.values(T0, [10.0, 20.0, 5000.0], [900, 95, 5], unit="Milliseconds")
    # When the period's statistics are computed
    bucket = one_period(datum)
    # Then SampleCount, Sum, Average, Minimum and Maximum are those of the 1,000 samples
    assert (bucket.statistic("SampleCount"), bucket.statistic("Sum")) == (1000.0, 9000.0 + 1900.0 + 25000.0)
    assert bucket.statistic("Average") == pytest.approx(35.9)
    assert (bucket.statistic("Minimum"), bucket.statistic("Maximum")) == (10.0, 5000.0)
    # And p99 is the largest value of the lowest 99% (sample 990 is a 20); p99.6 (sample 996) is an outlier
    assert [bucket.statistic(p) for p in ("p0", "p50", "p90", "p99", "p99.5", "p99.6", "p100")] == [
        10.0, 10.0, 10.0, 20.0, 20.0, 5000.0, 5000.0]


def test_values_without_counts_count_once_each_and_single_values_add_up():
    """Proves: Values without Counts count 1 each, and datums of one period aggregate together."""
    # Given a Values datum and two single values in the same minute
    datums = [Datum.values(T0, [1.0, 10.0, 23.45]), Datum.value(T0 + timedelta(seconds=30), 5.0),
              Datum.value(T0 + timedelta(seconds=59), 0.0)]
    # When the minute is aggregated
    bucket = one_period(*datums)
    # Then every sample counts once
    assert (bucket.sample_count, bucket.sum, bucket.minimum, bucket.maximum) == (5.0, 39.45, 0.0, 23.45)
    assert bucket.statistic("p50") == 5.0


def test_a_percentile_cannot_be_computed_from_statistic_sets():
    """Proves: a statistic set hides its values: no pNN (None), though the other statistics are exact."""
    # Given a statistic set of 5 samples between 1 and 9, as the local Lambda metrics send them
    bucket = one_period(Datum.statistic_set(T0, sample_count=5, total=20, minimum=1, maximum=9))
    # When statistics are asked for
    # Then Sum/Average/Min/Max/SampleCount are there and p99 is unavailable
    assert [bucket.statistic(s) for s in ("SampleCount", "Sum", "Average", "Minimum", "Maximum")] == [
        5.0, 20.0, 4.0, 1.0, 9.0]
    assert bucket.statistic("p99") is None
    # And one such set poisons the percentile of a period that also holds raw values
    assert one_period(Datum.value(T0, 3.0), Datum.statistic_set(T0, 5, 20, 1, 9)).statistic("p99") is None


@pytest.mark.parametrize(("sample_count", "total", "minimum", "maximum"), [
    (1, 7.0, 7.0, 7.0),  # SampleCount 1 and Min, Max and Sum equal
    (4, 28.0, 7.0, 7.0),  # Min equals Max and Sum is Min * SampleCount
])
def test_a_percentile_can_be_computed_from_a_statistic_set_that_holds_one_value(sample_count, total, minimum,
                                                                                 maximum):
    """Proves: the two documented exceptions, where a statistic set still gives a percentile."""
    # Given a statistic set whose samples must all be 7
    bucket = one_period(Datum.statistic_set(T0, sample_count, total, minimum, maximum))
    # When p99 is asked for / Then it is 7
    assert bucket.statistic("p99") == 7.0


def test_no_percentile_when_a_value_is_negative():
    """Proves: "Percentile statistics are not available for metrics when any of the metric values are negative"."""
    # Given a period holding a negative value
    bucket = one_period(Datum.values(T0, [-1.0, 5.0, 6.0]))
    # When p50 is asked for / Then there is none, but Minimum is still -1
    assert (bucket.statistic("p50"), bucket.statistic("Minimum")) == (None, -1.0)


def test_periods_run_from_the_start_and_each_datum_lands_in_its_period():
    """Proves: [start, end) is cut into periods from start, a datum at a boundary opens the next period,
    standard resolution data is stored per minute and high resolution per second, empty periods are None."""
    # Given datums at 13:40:59.9 (standard), 13:41:00, 13:41:30.7 (high resolution) and 13:43:10
    datums = [Datum.value(T0 + timedelta(seconds=59.9), 1.0), Datum.value(T0 + timedelta(seconds=60), 2.0),
              Datum.value(T0 + timedelta(seconds=90.7), 4.0, storage_resolution=1),
              Datum.value(T0 + timedelta(minutes=3, seconds=10), 8.0)]
    # When four minutes are aggregated per 60 s, and per 30 s
    per_minute = aggregate(datums, T0, T0 + timedelta(minutes=4), 60)
    per_half = aggregate(datums, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2), 30)
    # Then each minute holds its own datums and the third is empty
    assert [b and b.sum for b in per_minute] == [1.0, 6.0, None, 8.0]
    assert per_minute[1].time == T0 + timedelta(minutes=1)
    # And at 30 s only the high-resolution datum keeps its second; the standard one is at 13:41:00
    assert [b and b.sum for b in per_half] == [2.0, 4.0]
    assert Datum.value(T0 + timedelta(seconds=90.7), 4.0, storage_resolution=1).time == T0 + timedelta(seconds=90)


def test_units_are_aggregated_apart_when_a_unit_is_asked_for():
    """Proves: a query with a Unit reads only that unit; one without reads them all."""
    # Given the same metric published in Seconds and in Milliseconds
    datums = [Datum.value(T0, 2.0, unit="Seconds"), Datum.value(T0, 2000.0, unit="Milliseconds")]
    # When aggregated with and without a unit / Then
    assert one_period(*datums, unit="Seconds").sum == 2.0
    assert one_period(*datums).sample_count == 2.0


@pytest.mark.parametrize(("statistic", "rank"), [
    ("p99", 99.0), ("p99.9", 99.9), ("p0", 0.0), ("p0.0", 0.0), ("p100", 100.0), ("p100.0", 100.0),
    ("p95.0123456789", 95.0123456789), ("p95.01234567891", None), ("p100.1", None), ("p101", None),
    ("P99", None), ("tm99", None), ("Maximum", None), ("p", None),
])
def test_percentile_statistics_are_p0_to_p100_with_up_to_ten_decimals(statistic, rank):
    """Proves: which ExtendedStatistic names are percentiles ("up to ten decimal places")."""
    assert percentile_rank(statistic) == rank


def test_an_unknown_statistic_is_refused():
    """Proves: a statistic CloudWatch does not have is an error, not a silent None."""
    with pytest.raises(ValueError, match="tm99"):
        one_period(Datum.value(T0, 1.0)).statistic("tm99")


@pytest.mark.parametrize(("rank", "samples"), [(99, 1000), (99.9, 10000), (50, 20), (25, 40), (90, 100),
                                               (0, 0), (100, 0)])
def test_low_sample_threshold_is_ten_over_one_minus_p_or_ten_over_p(rank, samples):
    """Proves: the guide's 10/(1-p) rule from p50 up, 10/p below it (p99 needs 1,000 samples)."""
    assert low_sample_threshold(rank) == pytest.approx(samples)


def test_percentiles_are_nearest_ranks_whatever_the_floating_point_error():
    """Proves: pN of the values 1..100 is N for every whole N, though N/100 * 100 is not always N in floating point."""
    # Given the values 1 to 100 once each
    samples = [(float(value), 1.0) for value in range(1, 101)]
    # When every whole percentile is taken / Then pN is the N-th value (p7 is 7, not 8)
    assert [percentile(samples, rank) for rank in range(1, 101)] == [float(rank) for rank in range(1, 101)]
    assert percentile(samples, 0) == 1.0


def test_percentile_of_nothing_is_none():
    """Proves: no samples (or only zero counts) give no percentile rather than an error."""
    assert percentile([], 99) is None and percentile([(5.0, 0.0)], 99) is None


def test_datums_from_the_put_metric_data_shapes():
    """Proves: the three shapes of MetricDatum, and a datum without Timestamp is stamped on receipt."""
    # Given the three shapes as boto3 sends them
    received = T0 + timedelta(seconds=42)
    single = Datum.from_metric_datum({"MetricName": "m", "Value": 3.0, "Unit": "Count"}, received)
    spread = Datum.from_metric_datum({"MetricName": "m", "Timestamp": T0, "Values": [1.0, 2.0], "Counts": [3, 1]},
                                     received)
    summed = Datum.from_metric_datum({"MetricName": "m", "Timestamp": T0.isoformat(), "StatisticValues": {
        "SampleCount": 2, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0}}, received)
    # Then each is stored as CloudWatch stores it
    assert (single.time, single.unit, single.samples) == (T0, "Count", ((3.0, 1.0),))
    assert (spread.sample_count, spread.sum, spread.unit) == (4.0, 5.0, "None")
    assert (summed.sample_count, summed.sum, summed.minimum, summed.maximum, summed.samples) == (2, 3, 1, 2, None)


def datum(**fields):
    return {"MetricName": "RidesLeftPending", "Value": 1.0, **fields}


UNIT_SET = f"[ {', '.join(UNITS)} ]"
M1 = "MetricData.member.1"


@pytest.mark.parametrize(("given", "code", "message"), [
    (datum(Value=math.nan), "InvalidParameterValue", f"The value NaN for parameter {M1}.Value is invalid."),
    (datum(Value=math.inf), "InvalidParameterValue", f"The value Infinity for parameter {M1}.Value is invalid."),
    (datum(Value=-math.inf), "InvalidParameterValue", f"The value -Infinity for parameter {M1}.Value is invalid."),
    (datum(Value=2.0 ** 361), "InvalidParameterValue",
     f"The value 4.6970851655476665E108 for parameter {M1}.Value is invalid."),
    (datum(Value=-(2.0 ** 361)), "InvalidParameterValue",
     f"The value -4.6970851655476665E108 for parameter {M1}.Value is invalid."),
    (datum(Value=2.0 ** -361), "InvalidParameterValue",
     f"The value 2.1289799200040754E-109 for parameter {M1}.Value is invalid."),
    (datum(Value="twelve"), "InvalidParameterValue", f"The value twelve for parameter {M1}.Value is invalid."),
    (datum(Value="NaN"), "InvalidParameterValue", f"The value NaN for parameter {M1}.Value is invalid."),
    (datum(Value=True), "InvalidParameterValue", f"The value True for parameter {M1}.Value is invalid."),
    (datum(Dimensions=["service"]), "MissingParameter", f"The parameter {M1}.Dimensions.member.1.Name is required."),
    (datum(Value=None, Values=[1.0, math.nan]), "InvalidParameterValue",
     f"The value NaN for parameter {M1}.Values.member.2 is invalid."),
    (datum(Value=None, Values=[1.0] * 151), "InvalidParameterValue",
     f"The collection {M1}.Values must not have a size greater than 150."),
    (datum(Value=None, Values=[1.0, 10.0], Counts=[2, 4, 1]), "InvalidParameterValue",
     f"The parameters {M1}.Values and {M1}.Counts must be of the same size."),
    (datum(Value=None, Values=[1.0], Counts=[-1]), "InvalidParameterValue",
     f"The value -1.0 for parameter {M1}.Counts.member.1 is invalid."),
    (datum(Values=[1.0]), "InvalidParameterValue",
     f"The parameters {M1}.Value and {M1}.Values are mutually exclusive and you have specified both."),
    (datum(StatisticValues={"SampleCount": 2, "Sum": 10.0, "Minimum": 1.0, "Maximum": 9.0}),
     "InvalidParameterCombination",
     f"The parameters {M1}.Value and {M1}.StatisticValues are mutually exclusive and you have specified both."),
    (datum(Value=None), "MissingParameter",
     f"At least one of the parameters {M1}.Value or {M1}.StatisticValues must be specified."),
    (datum(Value=None, StatisticValues={"SampleCount": 2, "Sum": 10.0, "Maximum": 9.0}), "MissingParameter",
     f"The parameter {M1}.StatisticValues.Minimum is required."),
    (datum(Value=None, StatisticValues={"SampleCount": 0, "Sum": 0.0, "Minimum": 1.0, "Maximum": 9.0}),
     "InvalidParameterValue", f"The parameter {M1}.StatisticValues.SampleCount must be greater than 0."),
    (datum(Value=None, StatisticValues={"SampleCount": 2, "Sum": 10.0, "Minimum": 9.0, "Maximum": 1.0}),
     "InvalidParameterValue",
     f"The parameter {M1}.StatisticValues.Maximum must be greater than {M1}.StatisticValues.Minimum."),
    (datum(Unit="Rides"), "InvalidParameterValue", f"The parameter {M1}.Unit must be a value in the set {UNIT_SET}."),
    (datum(Unit="count"), "InvalidParameterValue", f"The parameter {M1}.Unit must be a value in the set {UNIT_SET}."),
    (datum(Dimensions=[{"Name": f"d{i}", "Value": "v"} for i in range(31)]), "InvalidParameterValue",
     f"The collection {M1}.Dimensions must not have a size greater than 30."),
    (datum(Dimensions=[{"Name": "service", "Value": ""}]), "MissingParameter",
     f"The parameter {M1}.Dimensions.member.1.Value is required."),
    (datum(MetricName=""), "MissingParameter", f"The parameter {M1}.MetricName is required."),
    (datum(MetricName="   "), "MissingParameter", f"The parameter {M1}.MetricName is required."),
    (datum(MetricName="m" * 256), "InvalidParameterValue",
     f"The parameter {M1}.MetricName must be shorter than 256 characters."),
    (datum(StorageResolution=5), "InvalidParameterValue",
     f"The parameter {M1}.StorageResolution must be a value in the set [ 1, 60 ]."),
    (datum(Timestamp=T0 - timedelta(days=15)), "InvalidParameterValue",
     f"The parameter {M1}.Timestamp must specify a time within the past two weeks."),
    (datum(Timestamp=T0 + timedelta(hours=3)), "InvalidParameterValue",
     f"The parameter {M1}.Timestamp must specify a time within the past two weeks."),
])
def test_hostile_metric_data_gets_cloudwatchs_error(given, code, message):
    """Proves: each hostile MetricDatum is refused with CloudWatch's code and message, as the first error."""
    # Given a PutMetricData call carrying the datum / When it is validated at T0
    problems = validate_put_metric_data("WildRydes", [given], now=T0)
    # Then the first problem is CloudWatch's answer
    assert problems[0] == (code, message)


@pytest.mark.parametrize("value", [0.0, -0.0, 2.0 ** 360, -(2.0 ** 360), 2.0 ** -360, 1e-100, 123456.789, "12.5", 7])
def test_values_inside_the_range_are_accepted(value):
    """Proves: the edges of CloudWatch's range (2^-360..2^360 in magnitude, and 0) are accepted, and numbers may
    come as the Query API carries them (strings) or as integers."""
    assert validate_datum(datum(Value=value)) == []


def test_a_well_formed_call_is_accepted():
    """Proves: the validator does not refuse what CloudWatch accepts (every shape, 30 dimensions, 1,000 datums)."""
    # Given 1,000 datums of every shape, one with 30 dimensions and 150 values
    data = [datum(Dimensions=[{"Name": f"d{i}", "Value": "v"} for i in range(30)], Timestamp=T0, Unit="Count",
                  StorageResolution=1)]
    data.append(datum(Value=None, Values=[float(i) for i in range(150)], Counts=[1] * 150))
    data.append(datum(Value=None, StatisticValues={"SampleCount": 3, "Sum": 6.0, "Minimum": 1.0, "Maximum": 3.0}))
    data += [datum()] * (MAX_METRIC_DATA - len(data))
    # When validated / Then nothing is wrong
    assert validate_put_metric_data("WildRydes", data, now=T0) == []


@pytest.mark.parametrize(("namespace", "data", "problem"), [
    ("WildRydes", [datum()] * 1001, ("InvalidParameterValue",
                                     "The collection MetricData must not have a size greater than 1000.")),
    ("WildRydes", [], ("MissingParameter", "The parameter MetricData is required.")),
    ("", [datum()], ("MissingParameter", "The parameter Namespace is required.")),
    ("AWS/SQS", [datum()], ("InvalidParameterValue", "The value AWS/ for parameter Namespace is invalid.")),
])
def test_hostile_calls_get_cloudwatchs_error(namespace, data, problem):
    """Proves: the call-level limits: 1,000 datums, a MetricData, a namespace outside AWS/."""
    assert validate_put_metric_data(namespace, data)[0] == problem


def test_the_local_cloud_may_publish_aws_namespaces_itself():
    """Proves: the AWS/ check can be lifted for the local cloud's own service metrics."""
    assert validate_put_metric_data("AWS/SQS", [datum()], allow_aws_namespace=True) == []


def test_the_later_datum_is_named_by_its_position():
    """Proves: problems name MetricData.member.N by the datum's 1-based position."""
    assert validate_put_metric_data("WildRydes", [datum(), datum(Value=math.nan)])[0][1] == (
        "The value NaN for parameter MetricData.member.2.Value is invalid.")
