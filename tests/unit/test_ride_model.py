"""The ride contract: what the producer accepts, and the 400 it gives for everything else."""

import json

import pytest

from shared.ride import SNS_MAX_MESSAGE_BYTES, InvalidRide, message_attributes, parse_ride_request
from tests.factories import HOSTILE_BODIES, SAMPLE_RIDE, WORKSHOP_EVENT, ride_body


def test_sample_ride_parses_with_workshop_field_names():
    ride = parse_ride_request(json.dumps(SAMPLE_RIDE))
    assert ride.from_ == "Berlin" and ride.fare == 256.5
    assert ride.model_dump(by_alias=True)["from"] == "Berlin"


def test_fare_and_distance_are_number_attributes():
    attributes = message_attributes(parse_ride_request(json.dumps(SAMPLE_RIDE)))
    assert attributes == {"fare": {"DataType": "Number", "StringValue": "256.5"},
                          "distance": {"DataType": "Number", "StringValue": "600.0"}}


@pytest.mark.parametrize(("body", "field", "fragment"), [
    (None, "body", "required"),
    ("", "body", "required"),
    ("{not json", "body", "not valid JSON"),
    ("[1, 2]", "body", "JSON object"),
    (json.dumps({k: v for k, v in SAMPLE_RIDE.items() if k != "fare"}), "fare", "required"),
    (json.dumps({**SAMPLE_RIDE, "fare": -1}), "fare", "greater than or equal to 0"),
    (json.dumps({**SAMPLE_RIDE, "distance": True}), "distance", "not true or false"),
    (json.dumps({**SAMPLE_RIDE, "duration": None}), "duration", "JSON number"),
    (json.dumps({**SAMPLE_RIDE, "from": ""}), "from", "at least 1 character"),
    (json.dumps({**SAMPLE_RIDE, "to": "   "}), "to", "blank"),
    (json.dumps({**SAMPLE_RIDE, "customer": 7}), "customer", "string"),
    (json.dumps({**SAMPLE_RIDE, "fair": 3}), "fair", "Extra inputs are not permitted"),
    ('{"from":"a","to":"b","duration":1,"distance":1e999,"customer":"c","fare":1}', "distance", "out of range"),
    *HOSTILE_BODIES,
])
def test_invalid_bodies_name_the_field_and_the_reason(body, field, fragment):
    with pytest.raises(InvalidRide) as caught:
        parse_ride_request(body)
    assert any(e["field"] == field and fragment in e["message"] for e in caught.value.errors), caught.value.errors


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(InvalidRide) as caught:
        parse_ride_request(json.dumps({**SAMPLE_RIDE, "fare": -1, "to": ""}))
    assert {e["field"] for e in caught.value.errors} == {"fare", "to"}


def test_body_over_the_sns_limit_is_rejected_before_parsing():
    body = json.dumps({**SAMPLE_RIDE, "padding": "x" * SNS_MAX_MESSAGE_BYTES})
    with pytest.raises(InvalidRide) as caught:
        parse_ride_request(body)
    assert caught.value.errors[0]["field"] == "body"
    assert f"over the limit of {SNS_MAX_MESSAGE_BYTES} bytes" in caught.value.errors[0]["message"]


def test_the_workshop_event_with_numbers_as_strings_becomes_numbers():
    ride = parse_ride_request(json.dumps(WORKSHOP_EVENT))
    assert (ride.duration, ride.distance, ride.fare) == (3000, 1200, 899.99)
    assert message_attributes(ride)["fare"] == {"DataType": "Number", "StringValue": "899.99"}


@pytest.mark.parametrize(("text", "value"), [
    ('"0"', 0), ('"-0"', 0), ("-0", 0), ('"12"', 12), ('"0.5"', 0.5), ('"256.50"', 256.5),
    ("1e-128", 1e-128), ("9.9e125", 9.9e125), ('"' + "9" * 125 + '"', float("9" * 125)),
    ("256.5000000000000000000000000000000000000001", 256.5),  # more digits than a double holds: rounded
])
def test_numbers_at_the_edges_of_what_is_stored_are_accepted(text, value):
    ride = parse_ride_request(ride_body(fare=text))
    assert ride.fare == value
    assert str(ride.fare).lstrip("-") == str(ride.fare)  # never -0.0


def test_a_long_unknown_field_name_is_cut_in_the_answer():
    with pytest.raises(InvalidRide) as caught:
        parse_ride_request(json.dumps({**SAMPLE_RIDE, "x" * 10_000: 1}))
    [error] = caught.value.errors
    assert len(error["field"]) <= 65 and error["message"] == "Extra inputs are not permitted"
