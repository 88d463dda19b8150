"""Settings from cdk.json: defaults, and a clear error for every impossible value."""

from __future__ import annotations

import copy

import pytest

from stacks.app_factory import project_context
from stacks.config import ConfigError, load_settings

BASE = project_context()["wildrydes"]


def with_service(**changes) -> dict:
    context = copy.deepcopy(BASE)
    context["subscribers"][0].update(changes)
    return context


def problems(context: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(context)
    return caught.value.problems


def test_defaults_are_valid_and_sized_for_a_sandbox():
    settings = load_settings(BASE)
    assert [s.name for s in settings.subscribers] == ["CustomerNotification", "CustomerAccounting",
                                                      "ExtraordinaryRides"]
    for s in settings.subscribers:
        assert s.max_concurrency == 2 and s.max_receive_count == 5 and s.failure_rate == 0
        assert s.queue_visibility_timeout_seconds == 6 * s.function_timeout_seconds + s.max_batching_window_seconds


@pytest.mark.parametrize(("changes", "expected"), [
    ({"batchSize": 50, "maxBatchingWindowSeconds": 0}, "batchSize: 50 is over 10, which SQS allows only with"),
    ({"maxConcurrency": 1}, "maxConcurrency: must be between 2 and 1000, got 1"),
    ({"functionTimeoutSeconds": 60, "visibilityTimeoutSeconds": 300},
     "visibilityTimeoutSeconds: 300 is under 6 x functionTimeoutSeconds + maxBatchingWindowSeconds = 361"),
    ({"maxReceiveCount": 1}, "maxReceiveCount: must be between 5 and 1000, got 1"),
    ({"failureRate": 2}, "failureRate: must be a number from 0 to 1"),
    ({"batchSize": "10"}, "batchSize: must be an integer"),
    ({"handlerModule": "nowhere"}, "lambdas/nowhere/handler.py does not exist"),
    ({"batchSise": 5}, "batchSise: unknown setting"),
    ({"filterPolicy": {k: [1] for k in "abcdef"}}, "SNS allows at most 5"),
])
def test_impossible_values_are_rejected_naming_service_and_field(changes, expected):
    found = problems(with_service(**changes))
    assert any(expected in p and "subscribers.CustomerNotification." in p for p in found), found


def test_every_problem_is_reported_at_once():
    context = with_service(maxConcurrency=0, maxReceiveCount=0)
    context["logRetentionDays"] = 31
    found = problems(context)
    assert len(found) == 3 and "logRetentionDays" in found[-1]
    assert str(ConfigError(found)).count("\n  - ") == 3


def test_duplicate_service_names_are_rejected():
    context = copy.deepcopy(BASE)
    context["subscribers"].append(dict(context["subscribers"][0]))
    assert problems(context) == ["subscribers.CustomerNotification: the name is used more than once"]


def test_a_fourth_service_is_one_more_entry():
    context = copy.deepcopy(BASE)
    context["subscribers"].append({"name": "FraudCheck", "handlerModule": "customer_accounting", "batchSize": 100,
                                   "maxBatchingWindowSeconds": 5})
    assert load_settings(context).subscribers[-1].batch_size == 100
