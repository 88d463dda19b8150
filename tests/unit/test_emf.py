"""Embedded metric format: what CloudWatch Logs extracts from a log event, and what it ignores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from local.logs import emf

WHEN = 1796656239084  # ms


def event(**root: Any) -> str:
    document = {"_aws": {"Timestamp": WHEN, "CloudWatchMetrics": [{
        "Namespace": "WildRydes", "Dimensions": [["service"]],
        "Metrics": [{"Name": "RidesLeftPending", "Unit": "Count"}]}]}, "service": "UnicornManagement",
        "RidesLeftPending": [1.0]}
    document.update(root)
    return json.dumps(document)


def test_powertools_output_becomes_one_datum_per_dimension_set():
    [(namespace, [datum])] = emf.extract(event())
    assert namespace == "WildRydes"
    assert datum == {"MetricName": "RidesLeftPending",
                     "Dimensions": [{"Name": "service", "Value": "UnicornManagement"}],
                     "Timestamp": datetime.fromtimestamp(WHEN / 1000, UTC), "Unit": "Count", "StorageResolution": 60,
                     "Values": [1.0]}


def test_each_dimension_set_and_each_directive_make_their_own_metrics():
    meta = {"Timestamp": WHEN, "CloudWatchMetrics": [
        {"Namespace": "A", "Dimensions": [["service"], ["service", "stage"], []],
         "Metrics": [{"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}, {"Name": "Hits"}]},
        {"Namespace": "B", "Dimensions": [["stage"]], "Metrics": [{"Name": "Hits"}]}]}
    extracted = emf.extract(json.dumps({"_aws": meta, "service": "s", "stage": "prod", "Latency": 12.5, "Hits": 3}))
    assert [n for n, _ in extracted] == ["A", "B"]
    a = extracted[0][1]
    assert [(d["MetricName"], [x["Name"] for x in d["Dimensions"]]) for d in a] == [
        ("Latency", ["service"]), ("Latency", ["service", "stage"]), ("Latency", []),
        ("Hits", ["service"]), ("Hits", ["service", "stage"]), ("Hits", [])]
    assert a[0]["Value"] == 12.5 and a[0]["StorageResolution"] == 1 and a[3]["Unit"] == "None"
    assert extracted[1][1][0]["Dimensions"] == [{"Name": "stage", "Value": "prod"}]


def test_an_array_of_up_to_100_values_is_one_datum_of_that_many_samples():
    [(_, [datum])] = emf.extract(event(RidesLeftPending=[1, 2, 2] + [0] * 97))
    assert len(datum["Values"]) == 100 and datum["Values"][:3] == [1.0, 2.0, 2.0]


def test_directives_without_dimensions_give_a_metric_without_dimensions():
    meta = {"Timestamp": WHEN, "CloudWatchMetrics": [{"Namespace": "N", "Metrics": [{"Name": "M"}]}]}
    [(_, [datum])] = emf.extract(json.dumps({"_aws": meta, "M": 1}))
    assert datum["Dimensions"] == []


@pytest.mark.parametrize("message", [
    "ride published",  # not JSON at all
    '{"level": "INFO", "message": "no _aws here"}',
    '{"_aws": {"CloudWatchMetrics": []}',  # broken JSON
    '["_aws"]',
    json.dumps({"_aws": "not an object", "M": 1}),
    event(_aws={"CloudWatchMetrics": [{"Namespace": "N", "Metrics": [{"Name": "M"}]}]}),  # no Timestamp
    event(_aws={"Timestamp": "yesterday", "CloudWatchMetrics": []}),
    event(_aws={"Timestamp": WHEN, "CloudWatchMetrics": {"Namespace": "N"}}),  # not an array
])
def test_what_is_not_emf_gives_no_metrics(message):
    assert emf.extract(message) == []


@pytest.mark.parametrize(("change", "why"), [
    ({"RidesLeftPending": "1"}, "a string is not a number"),
    ({"RidesLeftPending": True}, "a boolean is not a number"),
    ({"RidesLeftPending": [1, "x"]}, "one value in the array is not a number"),
    ({"RidesLeftPending": []}, "no values"),
    ({"RidesLeftPending": list(range(101))}, "more than 100 values"),
    ({"RidesLeftPending": None}, "null"),
    ({"service": 7}, "a dimension's value must be a string"),
])
def test_invalid_values_void_the_whole_event(change, why):
    assert emf.extract(event(**change)) == [], why
    assert emf.extract(event()) != []


def test_a_missing_member_an_unknown_unit_or_resolution_void_the_event():
    assert emf.extract(json.dumps({"_aws": json.loads(event())["_aws"], "service": "s"})) == []
    for definition in ({"Name": "RidesLeftPending", "Unit": "Rides"},
                       {"Name": "RidesLeftPending", "StorageResolution": 5}, {"Unit": "Count"}):
        meta = json.loads(event())["_aws"]
        meta["CloudWatchMetrics"][0]["Metrics"] = [definition]
        assert emf.extract(event(_aws=meta)) == [], definition
    with pytest.raises(emf.Invalid):
        emf.parse(json.dumps({"_aws": json.loads(event())["_aws"], "service": "s"}))


def test_nan_and_infinity_are_not_json_numbers():
    assert emf.extract(event().replace("[1.0]", "NaN")) == []
    assert emf.extract(event().replace("[1.0]", "[Infinity]")) == []


def test_more_than_100_metric_definitions_void_the_event():
    meta = json.loads(event())["_aws"]
    meta["CloudWatchMetrics"][0]["Metrics"] = [{"Name": f"M{i}"} for i in range(101)]
    assert emf.extract(json.dumps({"_aws": meta, "service": "s", **{f"M{i}": 1 for i in range(101)}})) == []
