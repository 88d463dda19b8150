"""The demo's own reading of filter policies (local/filters.py): an independent expectation."""

import pytest

from local.filters import expected

WORKSHOP = {"fare": [{"numeric": [">=", 50]}], "distance": [{"numeric": [">=", 20]}]}


@pytest.mark.parametrize(("attributes", "verdict"), [
    ({"fare": 256.5, "distance": 600}, True),
    ({"fare": 50, "distance": 20}, True),
    ({"fare": 49.99, "distance": 600}, False),
    ({"fare": 256.5}, False),  # a key the policy names must be present
    ({"fare": "256.5", "distance": 600}, False),  # a string never matches a numeric condition
])
def test_numeric_and_policy(attributes, verdict):
    assert expected(WORKSHOP, attributes) is verdict


def test_no_policy_means_every_message_and_ranges_and_exact_values_work():
    assert expected(None, {}) is True
    assert expected({"fare": [{"numeric": [">", 0, "<=", 10]}]}, {"fare": 10}) is True
    assert expected({"fare": [{"numeric": [">", 0, "<=", 10]}]}, {"fare": 11}) is False
    assert expected({"customer": ["cmr", "ana"]}, {"customer": "ana"}) is True


def test_an_operator_it_does_not_know_makes_the_answer_unknown():
    assert expected({"customer": [{"prefix": "c"}]}, {"customer": "cmr"}) is None
