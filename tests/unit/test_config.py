"""Settings from cdk.json: defaults, and a clear error for every impossible value."""

from __future__ import annotations

import copy

import pytest

from stacks.app_factory import project_context
from stacks.config import ConfigError, installed_powertools_version, load_settings

BASE = project_context()["wildrydes"]


def with_service(**changes) -> dict:
    context = copy.deepcopy(BASE)
    context["subscribers"][0].update(changes)
    return context


def with_settings(**changes) -> dict:
    return {**copy.deepcopy(BASE), **changes}


def snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def problems(context: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(context)
    return caught.value.problems


def verdict(context: dict) -> list[str]:
    """The problems of the context; none when it loads."""
    try:
        load_settings(context)
    except ConfigError as error:
        return error.problems
    return []


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


# Every rule, one by one: each case below fails if its rule is removed or loosened.

SERVICE_RANGES = [("batchSize", 1, 10_000), ("maxBatchingWindowSeconds", 0, 300), ("maxConcurrency", 2, 1000),
                  ("functionTimeoutSeconds", 1, 900), ("memoryMb", 128, 10_240), ("maxReceiveCount", 5, 1000),
                  ("queueDepthAlarmThreshold", 1, 10**9), ("oldestMessageAlarmSeconds", 60, 1_209_600),
                  ("visibilityTimeoutSeconds", 0, 43_200), ("recordConcurrency", 1, 100)]
APP_RANGES = [("apiRateLimit", 1, 10_000), ("apiBurstLimit", 1, 5_000), ("producerTimeoutSeconds", 1, 29),
              ("producerMemoryMb", 128, 10_240), ("apiLatencyAlarmMs", 1, 29_000)]


@pytest.mark.parametrize(("key", "low", "high"), SERVICE_RANGES)
def test_each_service_number_has_its_range(key, low, high):
    for value in (low - 1, high + 1):
        assert problems(with_service(**{key: value})) == [
            f"subscribers.CustomerNotification.{key}: must be between {low} and {high}, got {value}"]
    accepted = (high,) if key == "visibilityTimeoutSeconds" else (low, high)  # 0 is always under 6 x timeout
    for value in accepted:
        assert getattr(load_settings(with_service(**{key: value})).subscribers[0], snake(key)) == value


@pytest.mark.parametrize(("key", "low", "high"), APP_RANGES)
def test_each_app_number_has_its_range(key, low, high):
    for value in (low - 1, high + 1):
        assert problems(with_settings(**{key: value})) == [f"{key}: must be between {low} and {high}, got {value}"]
    for value in (low, high):
        assert getattr(load_settings(with_settings(**{key: value})), snake(key)) == value



@pytest.mark.parametrize("key", [key for key, _, _ in SERVICE_RANGES])
@pytest.mark.parametrize("value", ["10", True, 10.0, None])
def test_service_numbers_are_integers_not_strings_booleans_or_floats(key, value):
    if key == "visibilityTimeoutSeconds" and value is None:  # null: the default, 6 x timeout + window
        assert load_settings(with_service(**{key: value})).subscribers[0].visibility_timeout_seconds is None
        return
    assert problems(with_service(**{key: value})) == [
        f"subscribers.CustomerNotification.{key}: must be an integer, got {value!r}"]


@pytest.mark.parametrize("key", [key for key, _, _ in APP_RANGES])
def test_app_numbers_are_integers(key):
    assert problems(with_settings(**{key: "50"})) == [f"{key}: must be an integer, got '50'"]


@pytest.mark.parametrize(("size", "window", "allowed"), [(11, 0, False), (10, 0, True), (11, 1, True)])
def test_a_batch_over_10_needs_a_batching_window(size, window, allowed):
    assert verdict(with_service(batchSize=size, maxBatchingWindowSeconds=window)) == ([] if allowed else [
        f"subscribers.CustomerNotification.batchSize: {size} is over 10, which SQS allows only with "
        "maxBatchingWindowSeconds >= 1"])


def test_the_visibility_timeout_covers_six_function_timeouts_and_the_window():
    assert load_settings(with_service(visibilityTimeoutSeconds=181)).subscribers[0].queue_visibility_timeout_seconds \
        == 181
    assert problems(with_service(visibilityTimeoutSeconds=180)) == [
        "subscribers.CustomerNotification.visibilityTimeoutSeconds: 180 is under 6 x functionTimeoutSeconds + "
        "maxBatchingWindowSeconds = 181; a slow batch would be delivered twice"]


def test_a_cross_field_rule_waits_for_the_fields_it_reads():
    # a broken functionTimeoutSeconds or window is reported once, not again as a visibility problem
    assert problems(with_service(functionTimeoutSeconds=0, visibilityTimeoutSeconds=10)) == [
        "subscribers.CustomerNotification.functionTimeoutSeconds: must be between 1 and 900, got 0"]
    assert problems(with_service(batchSize=50, maxBatchingWindowSeconds=-1)) == [
        "subscribers.CustomerNotification.maxBatchingWindowSeconds: must be between 0 and 300, got -1"]


@pytest.mark.parametrize(("rate", "allowed"), [(0, True), (0.5, True), (1, True), (-0.1, False), (1.5, False),
                                               (True, False), ("0.5", False)])
def test_the_failure_rate_is_a_share(rate, allowed):
    assert verdict(with_service(failureRate=rate)) == ([] if allowed else [
        f"subscribers.CustomerNotification.failureRate: must be a number from 0 to 1, got {rate!r}"])


@pytest.mark.parametrize(("policy", "expected"), [
    ({}, "must be a non-empty object"),
    ([{"fare": [1]}], "must be a non-empty object"),
    ({k: [1] for k in "abcdef"}, "6 keys, SNS allows at most 5"),
])
def test_a_filter_policy_is_an_object_of_at_most_5_keys(policy, expected):
    assert problems(with_service(filterPolicy=policy)) == [f"subscribers.CustomerNotification.filterPolicy: {expected}"]
    assert load_settings(with_service(filterPolicy={k: [1] for k in "abcde"})).subscribers[0].filter_policy


@pytest.mark.parametrize("name", ["customerNotification", "Customer-Notification", "C" * 41, ""])
def test_a_service_name_is_pascal_case(name):
    assert problems(with_service(name=name)) == [
        f"subscribers.{name}.name: must be PascalCase letters and digits, got {name!r}"]


@pytest.mark.parametrize("service", [{"handlerModule": "customer_accounting"}, "FraudCheck", None])
def test_a_service_needs_a_name_and_a_handler_module(service):
    context = copy.deepcopy(BASE)
    context["subscribers"].append(service)
    assert problems(context) == ["subscribers[3]: needs at least 'name' and 'handlerModule'"]


@pytest.mark.parametrize("subscribers", [[], None, "CustomerNotification", {"name": "CustomerNotification"}])
def test_there_is_at_least_one_service(subscribers):
    assert problems(with_settings(subscribers=subscribers)) == ["subscribers: must be a non-empty list of services"]
    context = copy.deepcopy(BASE)
    del context["subscribers"]
    assert problems(context) == ["subscribers: must be a non-empty list of services"]


@pytest.mark.parametrize("days", [0, 2, 31, 4000, "30"])
def test_log_retention_is_a_value_cloudwatch_takes(days):
    assert problems(with_settings(logRetentionDays=days)) == [
        "logRetentionDays: must be one of (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, "
        f"1827, 2192, 2557, 2922, 3288, 3653), got {days!r}"]


@pytest.mark.parametrize(("email", "allowed"), [("", True), ("ops@example.com", True), ("ops", False),
                                                ("ops@example", False), ("o ps@example.com", False)])
def test_the_alarm_email_is_an_address_or_empty(email, allowed):
    assert verdict(with_settings(alarmEmail=email)) == ([] if allowed else [
        f"alarmEmail: not an email address: {email!r}"])


@pytest.mark.parametrize(("role", "allowed"), [("create", True), ("existing", True), ("none", False),
                                               ("Create", False)])
def test_the_api_gateway_role_is_created_or_existing(role, allowed):
    assert verdict(with_settings(apiGatewayCloudWatchRole=role)) == ([] if allowed else [
        f"apiGatewayCloudWatchRole: must be one of create, existing, got {role!r}"])


@pytest.mark.parametrize(("name", "allowed"), [("WildRydes-pr-42", True), ("W" * 128, True), ("1WildRydes", False),
                                               ("Wild_Rydes", False), ("W" * 129, False), ("", False)])
def test_the_stack_name_is_one_cloudformation_takes(name, allowed):
    assert verdict(with_settings(stackName=name)) == ([] if allowed else [
        f"stackName: not a valid CloudFormation stack name: {name!r}"])


@pytest.mark.parametrize("key", ["stackname", "powertoolsVersion", "apiRateLimits"])
def test_an_unknown_app_setting_is_refused(key):
    assert problems(with_settings(**{key: 1})) == [f"{key}: unknown setting"]


@pytest.mark.parametrize("context", [None, [], "wildrydes"])
def test_the_settings_are_an_object(context):
    assert problems(context) == ["'wildrydes' is missing or not an object"]


def test_every_problem_of_every_service_is_reported_in_order():
    context = copy.deepcopy(BASE)
    first, second, third = context["subscribers"]
    first.update(batchSize=50, maxBatchingWindowSeconds=0, maxConcurrency=1, visibilityTimeoutSeconds=10)
    second.update(memoryMb=64, failureRate=2)
    third.update(name="CustomerNotification", filterPolicy={})
    context.update(alarmEmail="ops", apiRateLimit=0, stackName="1")
    assert problems(context) == [
        "subscribers.CustomerNotification.batchSize: 50 is over 10, which SQS allows only with "
        "maxBatchingWindowSeconds >= 1",
        "subscribers.CustomerNotification.maxConcurrency: must be between 2 and 1000, got 1",
        "subscribers.CustomerNotification.visibilityTimeoutSeconds: 10 is under 6 x functionTimeoutSeconds + "
        "maxBatchingWindowSeconds = 180; a slow batch would be delivered twice",
        "subscribers.CustomerAccounting.memoryMb: must be between 128 and 10240, got 64",
        "subscribers.CustomerAccounting.failureRate: must be a number from 0 to 1, got 2",
        "subscribers.CustomerNotification.filterPolicy: must be a non-empty object",
        "subscribers.CustomerNotification: the name is used more than once",
        "alarmEmail: not an email address: 'ops'",
        "apiRateLimit: must be between 1 and 10000, got 0",
        "stackName: not a valid CloudFormation stack name: '1'",
    ]


# cdk.json's spelling is the only one: the camelCase aliases; strict types; the public surface.

@pytest.mark.parametrize("key", ["batch_size", "BatchSize", "maxBatchingWindowInSeconds", "maximumBatchingWindow"])
def test_a_service_setting_has_one_spelling(key):
    assert problems(with_service(**{key: 5})) == [f"subscribers.CustomerNotification.{key}: unknown setting"]


@pytest.mark.parametrize("key", ["log_retention_days", "LogRetentionDays", "subscriber"])
def test_an_app_setting_has_one_spelling(key):
    assert problems(with_settings(**{key: 30})) == [f"{key}: unknown setting"]


def test_unknown_settings_come_after_the_other_problems_of_their_object():
    context = with_service(batch_size=5, maxConcurrency=1)
    context["stack_name"] = "x"
    context["apiRateLimit"] = 0
    assert problems(context) == ["subscribers.CustomerNotification.maxConcurrency: must be between 2 and 1000, got 1",
                                 "subscribers.CustomerNotification.batch_size: unknown setting",
                                 "apiRateLimit: must be between 1 and 10000, got 0",
                                 "stack_name: unknown setting"]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"logRetentionDays": True}, "logRetentionDays: must be one of (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
                                 "400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), got True"),
    ({"logRetentionDays": 30.0}, "logRetentionDays: must be one of (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, "
                                 "400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), got 30.0"),
    ({"stackName": True}, "stackName: not a valid CloudFormation stack name: True"),
    ({"alarmEmail": None}, "alarmEmail: not an email address: None"),
    ({"alarmEmail": 0}, "alarmEmail: not an email address: 0"),
    ({"apiGatewayCloudWatchRole": None}, "apiGatewayCloudWatchRole: must be one of create, existing, got None"),
])
def test_app_values_of_the_wrong_type_are_refused_not_converted(changes, expected):
    assert problems(with_settings(**changes)) == [expected]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"name": None}, "subscribers[0].name: must be PascalCase letters and digits, got None"),
    ({"name": True}, "subscribers.True.name: must be PascalCase letters and digits, got True"),
    ({"handlerModule": 5}, "subscribers.CustomerNotification.handlerModule: must be a string, got 5"),
    ({"filterPolicy": "fare"}, "subscribers.CustomerNotification.filterPolicy: must be a non-empty object"),
])
def test_service_values_of_the_wrong_type_are_refused_not_converted(changes, expected):
    assert problems(with_service(**changes)) == [expected]


def test_a_service_is_named_by_its_name_where_it_has_one():
    context = copy.deepcopy(BASE)
    context["subscribers"] += [{"name": "FraudCheck"}, {"handlerModule": "customer_accounting", "memoryMb": 1}]
    assert problems(context) == ["subscribers.FraudCheck: needs at least 'name' and 'handlerModule'",
                                 "subscribers[4]: needs at least 'name' and 'handlerModule'"]


def test_a_name_used_twice_is_reported_beside_the_problems_of_those_services():
    context = copy.deepcopy(BASE)
    context["subscribers"] += [dict(context["subscribers"][0], memoryMb=1), dict(context["subscribers"][1])]
    assert problems(context) == ["subscribers.CustomerNotification.memoryMb: must be between 128 and 10240, got 1",
                                 "subscribers.CustomerAccounting: the name is used more than once",
                                 "subscribers.CustomerNotification: the name is used more than once"]


def test_the_error_lists_every_problem_on_its_own_line():
    assert str(ConfigError(["a: b", "c: d"])) == (
        "invalid 'wildrydes' settings in the CDK context (cdk.json):\n  - a: b\n  - c: d")


def test_settings_are_frozen_and_derive_what_the_stack_needs():
    settings = load_settings(with_service(functionTimeoutSeconds=10, maxBatchingWindowSeconds=5))
    service = settings.subscribers[0]
    with pytest.raises(ValueError, match="frozen"):
        service.batch_size = 5
    assert (service.minimum_visibility_timeout_seconds, service.queue_visibility_timeout_seconds) == (65, 65)
    assert service.handler == "customer_notification.handler.lambda_handler"
    assert settings.powertools_layer_parameter("python3.14", "arm64") == (
        f"/aws/service/powertools/python/arm64/python3.14/{installed_powertools_version()}")


@pytest.mark.parametrize(("ordering", "allowed"), [("standard", True), ("fifo", True), ("FIFO", False),
                                                   ("ordered", False), (True, False)])
def test_the_ordering_is_standard_or_fifo(ordering, allowed):
    context = {**copy.deepcopy(BASE), "ordering": ordering}
    if allowed:
        assert load_settings(context).ordering == ordering
    else:
        with pytest.raises(ConfigError, match=f"ordering: must be one of standard, fifo, got {ordering!r}"):
            load_settings(context)


def test_fifo_services_take_no_batching_window_and_at_most_10_records():
    # Given the defaults (a 1 s window), ordering fifo needs no edit: the window of a FIFO service is 0
    settings = load_settings({**copy.deepcopy(BASE), "ordering": "fifo"})
    assert {s.max_batching_window_seconds for s in settings.subscribers} == {0}
    # but a window or a batch Lambda refuses for a FIFO queue, written out, is named
    context = copy.deepcopy(BASE)
    context["ordering"] = "fifo"
    context["subscribers"][0].update({"maxBatchingWindowSeconds": 5, "batchSize": 50})
    with pytest.raises(ConfigError) as error:
        load_settings(context)
    name = context["subscribers"][0]["name"]
    assert error.value.problems == [
        f"subscribers.{name}.maxBatchingWindowSeconds: must be 0 with ordering fifo (Lambda takes no batching "
        "window for a FIFO queue), got 5",
        f"subscribers.{name}.batchSize: must be at most 10 with ordering fifo (Lambda's maximum for a FIFO queue), "
        "got 50"]
    # and the same service on the standard ordering is fine
    context["ordering"] = "standard"
    assert load_settings(context).subscribers[0].batch_size == 50
