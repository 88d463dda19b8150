"""Typed, validated settings for the app, read from the `wildrydes` key of the CDK context.

Every setting has a default sized for a sandbox account (new accounts often have an account
concurrency limit of 10, so each consumer defaults to a maximum concurrency of 2). Validation
collects every problem and raises once, naming each field and the rule it breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

CONTEXT_KEY = "wildrydes"
LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"

# Lambda limits and AWS guidance the validator enforces.
MAX_BATCH_SIZE_WITHOUT_WINDOW = 10  # SQS ESM: batch size > 10 needs a batching window
MAX_BATCH_SIZE = 10_000
MAX_BATCHING_WINDOW_SECONDS = 300
MIN_MAX_CONCURRENCY, MAX_MAX_CONCURRENCY = 2, 1000
MIN_MAX_RECEIVE_COUNT = 5  # AWS guidance: never 1, at least 5
MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200  # 12 hours
VISIBILITY_TIMEOUT_FACTOR = 6  # visibility >= 6 x function timeout + batching window
MAX_FILTER_POLICY_KEYS = 5
MAX_RECORD_CONCURRENCY = 100  # threads writing a batch's effects at once (lambdas/shared/consumer.py)
MAX_API_LATENCY_MS = 29_000  # API Gateway's integration timeout
# apiGatewayCloudWatchRole: "create" makes the role and sets it in the account's API Gateway settings;
# "existing" leaves an already-set role (e.g. managed by the organisation) alone.
API_GATEWAY_ROLE_MODES = ("create", "existing")
# Settings a deploy may also take as top-level CDK context (`cdk deploy -c stackName=...`): per-deploy
# values such as an ephemeral stack per pull request, without editing cdk.json.
CLI_SETTINGS = ("stackName", "alarmEmail", "apiGatewayCloudWatchRole")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)


class ConfigError(ValueError):
    """The CDK context holds settings that cannot be deployed; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid '{CONTEXT_KEY}' settings in the CDK context (cdk.json):\n{lines}")


@dataclass(frozen=True)
class SubscriberSettings:
    """One subscriber service: its queue, DLQ, subscription, consumer and alarms."""

    name: str  # PascalCase; names every resource of the service
    handler_module: str  # package under lambdas/ holding handler.py
    batch_size: int = 10  # records per invocation
    max_batching_window_seconds: int = 1  # wait up to this long to fill a batch
    max_concurrency: int = 2  # concurrent invocations the ESM may run (2-1000)
    function_timeout_seconds: int = 30
    memory_mb: int = 256
    visibility_timeout_seconds: int | None = None  # default: 6 x timeout + batching window
    max_receive_count: int = 5  # receives before a message moves to the DLQ
    failure_rate: float = 0.0  # failure injection for demos: share of records that fail
    record_concurrency: int = 10  # records of a batch the consumer processes at once
    filter_policy: dict[str, Any] | None = None  # SNS filter policy (message attributes)
    queue_depth_alarm_threshold: int = 100  # visible messages
    oldest_message_alarm_seconds: int = 300  # age of the oldest message

    @property
    def queue_visibility_timeout_seconds(self) -> int:
        if self.visibility_timeout_seconds is not None:
            return self.visibility_timeout_seconds
        return self.minimum_visibility_timeout_seconds

    @property
    def minimum_visibility_timeout_seconds(self) -> int:
        return VISIBILITY_TIMEOUT_FACTOR * self.function_timeout_seconds + self.max_batching_window_seconds

    @property
    def handler(self) -> str:
        return f"{self.handler_module}.handler.lambda_handler"


@dataclass(frozen=True)
class AppSettings:
    """The whole app. `subscribers` is data: a fourth service is one more entry."""

    subscribers: tuple[SubscriberSettings, ...]
    stack_name: str = "WildRydesRideCompletion"
    alarm_email: str = ""  # empty: no email subscription on the ops alarm topic
    log_retention_days: int = 30
    api_rate_limit: int = 50  # requests per second, API stage throttling
    api_burst_limit: int = 100
    producer_timeout_seconds: int = 10
    producer_memory_mb: int = 256
    api_latency_alarm_ms: int = 3000  # p99 latency of the API over 5 minutes, 3 periods in a row
    api_gateway_cloud_watch_role: str = "create"  # one of API_GATEWAY_ROLE_MODES
    powertools_version: str = field(default_factory=lambda: installed_powertools_version())

    def powertools_layer_parameter(self, runtime: str, architecture: str) -> str:
        """Public SSM parameter holding the ARN of the layer of exactly this Powertools version."""
        return f"/aws/service/powertools/python/{architecture}/{runtime}/{self.powertools_version}"


def installed_powertools_version() -> str:
    """The Powertools version the tests run is the version the layer deploys."""
    return metadata.version("aws-lambda-powertools")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _build(cls: type, raw: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = _snake(key)
        if name not in known or name in ("subscribers", "powertools_version"):
            problems.append(f"{where}{key}: unknown setting")
        else:
            values[name] = value
    return values


def _check_int(problems: list[str], where: str, value: Any, low: int, high: int) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}: must be an integer, got {value!r}")
        return False
    if not low <= value <= high:
        problems.append(f"{where}: must be between {low} and {high}, got {value}")
        return False
    return True


def _validate_subscriber(s: SubscriberSettings, problems: list[str]) -> None:
    at = f"subscribers.{s.name}."
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]{0,39}", str(s.name)):
        problems.append(f"{at}name: must be PascalCase letters and digits, got {s.name!r}")
    if not (LAMBDAS_DIR / str(s.handler_module) / "handler.py").is_file():
        problems.append(f"{at}handlerModule: lambdas/{s.handler_module}/handler.py does not exist")
    window_ok = _check_int(problems, f"{at}maxBatchingWindowSeconds", s.max_batching_window_seconds,
                           0, MAX_BATCHING_WINDOW_SECONDS)
    batch_ok = _check_int(problems, f"{at}batchSize", s.batch_size, 1, MAX_BATCH_SIZE)
    if batch_ok and window_ok and s.batch_size > MAX_BATCH_SIZE_WITHOUT_WINDOW and s.max_batching_window_seconds < 1:
        problems.append(f"{at}batchSize: {s.batch_size} is over {MAX_BATCH_SIZE_WITHOUT_WINDOW}, "
                        "which SQS allows only with maxBatchingWindowSeconds >= 1")
    _check_int(problems, f"{at}maxConcurrency", s.max_concurrency, MIN_MAX_CONCURRENCY, MAX_MAX_CONCURRENCY)
    timeout_ok = _check_int(problems, f"{at}functionTimeoutSeconds", s.function_timeout_seconds, 1, 900)
    _check_int(problems, f"{at}memoryMb", s.memory_mb, 128, 10_240)
    _check_int(problems, f"{at}maxReceiveCount", s.max_receive_count, MIN_MAX_RECEIVE_COUNT, 1000)
    _check_int(problems, f"{at}queueDepthAlarmThreshold", s.queue_depth_alarm_threshold, 1, 10**9)
    _check_int(problems, f"{at}oldestMessageAlarmSeconds", s.oldest_message_alarm_seconds, 60, 1_209_600)
    visibility_ok = s.visibility_timeout_seconds is not None and _check_int(
        problems, f"{at}visibilityTimeoutSeconds", s.visibility_timeout_seconds, 0, MAX_VISIBILITY_TIMEOUT_SECONDS)
    if visibility_ok and timeout_ok and window_ok and (
            s.queue_visibility_timeout_seconds < s.minimum_visibility_timeout_seconds):
        problems.append(
            f"{at}visibilityTimeoutSeconds: {s.visibility_timeout_seconds} is under "
            f"{VISIBILITY_TIMEOUT_FACTOR} x functionTimeoutSeconds + maxBatchingWindowSeconds "
            f"= {s.minimum_visibility_timeout_seconds}; a slow batch would be delivered twice")
    _check_int(problems, f"{at}recordConcurrency", s.record_concurrency, 1, MAX_RECORD_CONCURRENCY)
    rate = s.failure_rate
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        problems.append(f"{at}failureRate: must be a number from 0 to 1, got {rate!r}")
    if s.filter_policy is not None:
        if not isinstance(s.filter_policy, dict) or not s.filter_policy:
            problems.append(f"{at}filterPolicy: must be a non-empty object")
        elif len(s.filter_policy) > MAX_FILTER_POLICY_KEYS:
            problems.append(f"{at}filterPolicy: {len(s.filter_policy)} keys, SNS allows at most "
                            f"{MAX_FILTER_POLICY_KEYS}")


def load_settings(context: dict[str, Any] | None) -> AppSettings:
    """Build AppSettings from the `wildrydes` context value; raise ConfigError listing every problem."""
    problems: list[str] = []
    if not isinstance(context, dict):
        raise ConfigError([f"'{CONTEXT_KEY}' is missing or not an object"])
    raw_subscribers = context.get("subscribers")
    subscribers: list[SubscriberSettings] = []
    if not isinstance(raw_subscribers, list) or not raw_subscribers:
        problems.append("subscribers: must be a non-empty list of services")
        raw_subscribers = []
    for index, raw in enumerate(raw_subscribers):
        where = f"subscribers[{index}]."
        if not isinstance(raw, dict) or "name" not in raw or "handlerModule" not in raw:
            problems.append(f"{where[:-1]}: needs at least 'name' and 'handlerModule'")
            continue
        values = _build(SubscriberSettings, raw, f"subscribers.{raw['name']}.", problems)
        subscriber = SubscriberSettings(**values)
        _validate_subscriber(subscriber, problems)
        subscribers.append(subscriber)
    names = [s.name for s in subscribers]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"subscribers.{name}: the name is used more than once")

    top = {k: v for k, v in context.items() if k != "subscribers"}
    values = _build(AppSettings, top, "", problems)
    settings = AppSettings(subscribers=tuple(subscribers), **values)
    if settings.log_retention_days not in LOG_RETENTION_DAYS:
        problems.append(f"logRetentionDays: must be one of {LOG_RETENTION_DAYS}, got {settings.log_retention_days!r}")
    if settings.alarm_email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(settings.alarm_email)):
        problems.append(f"alarmEmail: not an email address: {settings.alarm_email!r}")
    _check_int(problems, "apiRateLimit", settings.api_rate_limit, 1, 10_000)
    _check_int(problems, "apiBurstLimit", settings.api_burst_limit, 1, 5_000)
    _check_int(problems, "producerTimeoutSeconds", settings.producer_timeout_seconds, 1, 29)
    _check_int(problems, "producerMemoryMb", settings.producer_memory_mb, 128, 10_240)
    _check_int(problems, "apiLatencyAlarmMs", settings.api_latency_alarm_ms, 1, MAX_API_LATENCY_MS)
    if settings.api_gateway_cloud_watch_role not in API_GATEWAY_ROLE_MODES:
        problems.append(f"apiGatewayCloudWatchRole: must be one of {', '.join(API_GATEWAY_ROLE_MODES)}, "
                        f"got {settings.api_gateway_cloud_watch_role!r}")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,127}", str(settings.stack_name)):
        problems.append(f"stackName: not a valid CloudFormation stack name: {settings.stack_name!r}")
    if problems:
        raise ConfigError(problems)
    return settings
