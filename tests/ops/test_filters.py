"""SNS filter policy evaluation, as SNS does it for the operators the project can meet."""

from __future__ import annotations

import pytest

from ops.filters import Subscription, matches

WORKSHOP = {"fare": [{"numeric": [">=", 50]}], "distance": [{"numeric": [">=", 20]}]}


@pytest.mark.parametrize(("values", "expected"), [
    ({"fare": 256.5, "distance": 600.0}, True),
    ({"fare": 50.0, "distance": 20.0}, True),
    ({"fare": 49.99, "distance": 600.0}, False),
    ({"fare": 256.5, "distance": 19.9}, False),
    ({"fare": 256.5}, False),  # a key of the policy missing from the message: no match
])
def test_the_workshop_filter(values, expected):
    assert matches(WORKSHOP, values) is expected


def test_other_operators():
    assert matches({"customer": ["cmr", "ana"]}, {"customer": "ana"}) is True
    assert matches({"customer": ["cmr"]}, {"customer": "bo"}) is False
    assert matches({"fare": [50]}, {"fare": 50.0}) is True
    assert matches({"tip": [{"exists": False}]}, {"fare": 3.0}) is True
    assert matches({"tip": [{"exists": True}]}, {"fare": 3.0}) is False
    assert matches({"customer": [{"anything-but": ["cmr"]}]}, {"customer": "ana"}) is True
    assert matches({"customer": [{"anything-but": "cmr"}]}, {"customer": "cmr"}) is False
    assert matches({"to": [{"prefix": "Ber"}]}, {"to": "Berlin"}) is True
    assert matches({"fare": [{"numeric": [">", 0, "<=", 10]}]}, {"fare": 10.0}) is True
    assert matches({"fare": [{"numeric": [">", 0, "<=", 10]}]}, {"fare": "10"}) is False  # a String attribute
    assert matches(None, {}) is True


def test_an_operator_beyond_the_reader_is_unknown_not_a_guess():
    assert matches({"to": [{"suffix": "lin"}]}, {"to": "Berlin"}) is None
    assert matches({"$or": [{"fare": [1]}, {"distance": [2]}]}, {"fare": 1.0}) is None


def test_a_subscription_reads_attributes_of_a_ride_with_numbers_as_strings_too():
    extraordinary = Subscription("ExtraordinaryRides", subscribed=True, policy=WORKSHOP)
    assert extraordinary.expects({"fare": "899.99", "distance": "1200"}) is True
    assert extraordinary.expects({"fare": 18.4, "distance": 12}) is False
    assert Subscription("Gone", subscribed=False).expects({"fare": 1, "distance": 1}) is False
