"""Typed, validated settings for the app, read from the `wildrydes` key of the CDK context.

Why typed and validated at synth: cdk.json is edited by hand, and a wrong value there costs most
once it reaches AWS. Some would deploy without a word (a misspelt key such as `batchSise` is simply
not read; a visibility timeout under 6 x the function timeout delivers a slow batch twice); others
fail late and badly, inside CDK with a JavaScript trace or minutes into a deploy that rolls back (a
log retention CloudWatch does not take, a memory size Lambda refuses). Synth is the first place the
values meet code and the last before AWS sees them, so they are checked there against the limits of
Lambda, SQS, SNS and API Gateway, strictly typed ("10" is not an integer, true is not a number), and
every problem is listed at once, naming the field as cdk.json spells it, the rule and the value.

Every setting has a default sized for a sandbox account (new accounts often have an account
concurrency limit of 10, so each consumer defaults to a maximum concurrency of 2). pydantic does the
checking: cdk.json's camelCase names are the fields' aliases, unknown keys are refused, and
`_problems` turns pydantic's errors into the project's messages.
"""

from __future__ import annotations

from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from stacks.settings_problems import CONTEXT_KEY, ConfigError, Says, problems, rule

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
ApiGatewayRoleMode = Literal["create", "existing"]
API_GATEWAY_ROLE_MODES = get_args(ApiGatewayRoleMode)
# apiAuthorization: "iam" (callers sign with SigV4 and need execute-api:Invoke, e.g. the RideSubmitter
# policy); "none" is the workshop's open POST, anyone with the URL may write rides.
ApiAuthorization = Literal["iam", "none"]
API_AUTHORIZATIONS = get_args(ApiAuthorization)
# ordering: "standard" (the lab's: SNS standard topic, SQS standard queues, best-effort order) or "fifo"
# (SNS FIFO topic and SQS FIFO queues: each customer's rides in order, once; at most 10 records per batch
# and no batching window, as Lambda takes for FIFO queues).
Ordering = Literal["standard", "fifo"]
ORDERINGS = get_args(Ordering)
MAX_FIFO_BATCH_SIZE = 10  # Lambda's maximum batch size for a FIFO queue
# Settings a deploy may also take as top-level CDK context (`cdk deploy -c stackName=...`): per-deploy
# values such as an ephemeral stack per pull request, without editing cdk.json.
CLI_SETTINGS = ("stackName", "alarmEmail", "apiGatewayCloudWatchRole")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)

def _minimum_visibility(function_timeout_seconds: int, max_batching_window_seconds: int) -> int:
    return VISIBILITY_TIMEOUT_FACTOR * function_timeout_seconds + max_batching_window_seconds


class _Settings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True, strict=True)


class SubscriberSettings(_Settings):
    """One subscriber service: its queue, DLQ, subscription, consumer and alarms.

    Fields are checked in the order declared, which is the order of the problems; a cross-field
    rule reads the fields before it, and is left out when one of them is already reported.
    """

    name: Annotated[str, Says("must be PascalCase letters and digits, got {value!r}")] = Field(
        pattern=r"^[A-Z][A-Za-z0-9]{0,39}$")  # names every resource of the service
    handler_module: str  # package under lambdas/ holding handler.py
    max_batching_window_seconds: int = Field(1, ge=0, le=MAX_BATCHING_WINDOW_SECONDS)  # wait this long to fill a batch
    batch_size: int = Field(10, ge=1, le=MAX_BATCH_SIZE)  # records per invocation
    max_concurrency: int = Field(2, ge=MIN_MAX_CONCURRENCY, le=MAX_MAX_CONCURRENCY)  # concurrent invocations of the ESM
    function_timeout_seconds: int = Field(30, ge=1, le=900)
    memory_mb: int = Field(256, ge=128, le=10_240)
    max_receive_count: int = Field(5, ge=MIN_MAX_RECEIVE_COUNT, le=1000)  # receives before a message moves to the DLQ
    queue_depth_alarm_threshold: int = Field(100, ge=1, le=10**9)  # visible messages
    oldest_message_alarm_seconds: int = Field(300, ge=60, le=1_209_600)  # age of the oldest message
    # default (None): 6 x timeout + batching window
    visibility_timeout_seconds: int | None = Field(None, ge=0, le=MAX_VISIBILITY_TIMEOUT_SECONDS)
    record_concurrency: int = Field(10, ge=1, le=MAX_RECORD_CONCURRENCY)  # records of a batch processed at once
    # failure injection for demos: share of records that fail
    failure_rate: Annotated[float, Says("must be a number from 0 to 1, got {value!r}")] = Field(0.0, ge=0, le=1)
    # SNS filter policy (message attributes)
    filter_policy: Annotated[dict[str, Any] | None, Says("must be a non-empty object")] = Field(None, min_length=1)
    # a per-customer accounts table beside the effect table (the ledger), written in one transaction with it
    accounts_table: bool = False

    @model_validator(mode="before")
    @classmethod
    def _named(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "name" not in data or "handlerModule" not in data:
            raise rule("needs at least 'name' and 'handlerModule'")
        return data

    @field_validator("handler_module")
    @classmethod
    def _handler_exists(cls, module: str) -> str:
        if not (LAMBDAS_DIR / module / "handler.py").is_file():
            raise rule(f"lambdas/{module}/handler.py does not exist")
        return module

    @field_validator("batch_size")
    @classmethod
    def _large_batches_wait(cls, size: int, info: ValidationInfo) -> int:
        window = info.data.get("max_batching_window_seconds")
        if window is not None and size > MAX_BATCH_SIZE_WITHOUT_WINDOW and window < 1:
            raise rule(f"{size} is over {MAX_BATCH_SIZE_WITHOUT_WINDOW}, which SQS allows only with "
                        "maxBatchingWindowSeconds >= 1")
        return size

    @field_validator("visibility_timeout_seconds")
    @classmethod
    def _outlasts_a_slow_batch(cls, seconds: int | None, info: ValidationInfo) -> int | None:
        timeout, window = info.data.get("function_timeout_seconds"), info.data.get("max_batching_window_seconds")
        if None in (seconds, timeout, window):
            return seconds
        if seconds < (least := _minimum_visibility(timeout, window)):
            raise rule(f"{seconds} is under {VISIBILITY_TIMEOUT_FACTOR} x functionTimeoutSeconds + "
                        f"maxBatchingWindowSeconds = {least}; a slow batch would be delivered twice")
        return seconds

    @field_validator("filter_policy")
    @classmethod
    def _few_keys(cls, policy: dict[str, Any] | None) -> dict[str, Any] | None:
        if policy is not None and len(policy) > MAX_FILTER_POLICY_KEYS:
            raise rule(f"{len(policy)} keys, SNS allows at most {MAX_FILTER_POLICY_KEYS}")
        return policy

    @property
    def queue_visibility_timeout_seconds(self) -> int:
        if self.visibility_timeout_seconds is not None:
            return self.visibility_timeout_seconds
        return self.minimum_visibility_timeout_seconds

    @property
    def minimum_visibility_timeout_seconds(self) -> int:
        return _minimum_visibility(self.function_timeout_seconds, self.max_batching_window_seconds)

    @property
    def handler(self) -> str:
        return f"{self.handler_module}.handler.lambda_handler"


class AppSettings(_Settings):
    """The whole app. `subscribers` is data: a fourth service is one more entry."""

    # before `subscribers`: the services' rules read it
    ordering: Annotated[Ordering, Says(f"must be one of {', '.join(ORDERINGS)}, got {{value!r}}")] = "standard"
    # strict=False: a JSON array (a list) is the tuple; each service is still checked strictly
    subscribers: Annotated[tuple[SubscriberSettings, ...], Says("must be a non-empty list of services")] = Field(
        strict=False)
    log_retention_days: Annotated[int, Says(f"must be one of {LOG_RETENTION_DAYS}, got {{value!r}}")] = 30
    # empty: no email subscription on the ops alarm topic
    alarm_email: Annotated[str, Says("not an email address: {value!r}")] = Field(
        "", pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")
    api_rate_limit: int = Field(50, ge=1, le=10_000)  # requests per second, API stage throttling
    api_burst_limit: int = Field(100, ge=1, le=5_000)
    producer_timeout_seconds: int = Field(10, ge=1, le=29)
    producer_memory_mb: int = Field(256, ge=128, le=10_240)
    # p99 latency of the API over 5 minutes, 3 periods in a row
    api_latency_alarm_ms: int = Field(3000, ge=1, le=MAX_API_LATENCY_MS)
    api_authorization: Annotated[ApiAuthorization, Says(
        f"must be one of {', '.join(API_AUTHORIZATIONS)}, got {{value!r}}")] = "iam"
    api_gateway_cloud_watch_role: Annotated[ApiGatewayRoleMode, Says(
        f"must be one of {', '.join(API_GATEWAY_ROLE_MODES)}, got {{value!r}}")] = "create"
    stack_name: Annotated[str, Says("not a valid CloudFormation stack name: {value!r}")] = Field(
        "WildRydesRideCompletion", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")

    @field_validator("subscribers", mode="wrap")
    @classmethod
    def _services(cls, services: Any, handler: ValidatorFunctionWrapHandler,
                  info: ValidationInfo) -> tuple[SubscriberSettings, ...]:
        """Every service's problems, then each name used more than once (pydantic alone would skip the names),
        then what a FIFO queue does not take."""
        if not services:
            raise ValueError("no services")
        listed = services if isinstance(services, (list, tuple)) else ()
        names = Counter(s["name"] for s in listed if isinstance(s, dict) and isinstance(s.get("name"), str))
        found = [{"type": rule("the name is used more than once"), "loc": (name,), "input": name}
                 for name in sorted(name for name, count in names.items() if count > 1)]
        if info.data.get("ordering") == "fifo" and listed:
            services = [{"maxBatchingWindowSeconds": 0, **s} if isinstance(s, dict) else s for s in listed]
            found += _fifo_problems(services)
        try:
            validated = handler(services)
        except ValidationError as error:
            if not found:
                raise
            # the services' errors again as line errors, to be raised with the names
            found[:0] = [{"type": PydanticCustomError(e["type"], e["msg"]), "loc": e["loc"], "input": e["input"]}
                         for e in error.errors()]
        if found:
            raise ValidationError.from_exception_data(cls.__name__, found)
        return validated

    @field_validator("log_retention_days")
    @classmethod
    def _retention_cloudwatch_takes(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            raise ValueError("not a CloudWatch retention")
        return days

    @property
    def powertools_version(self) -> str:
        """Not a setting: the version of Powertools installed, which the tests run, is the layer deployed."""
        return installed_powertools_version()

    def powertools_layer_parameter(self, runtime: str, architecture: str) -> str:
        """Public SSM parameter holding the ARN of the layer of exactly this Powertools version."""
        return f"/aws/service/powertools/python/{architecture}/{runtime}/{self.powertools_version}"


def _fifo_problems(services: list[Any]) -> list[dict[str, Any]]:
    """What Lambda refuses for an SQS FIFO event source: a batching window, more than 10 records a batch."""
    found = []
    for index, service in enumerate(services):
        if not isinstance(service, dict):
            continue
        window, size = service.get("maxBatchingWindowSeconds"), service.get("batchSize")
        if isinstance(window, int) and window != 0:
            found.append({"type": rule(f"must be 0 with ordering fifo (Lambda takes no batching window for a "
                                        f"FIFO queue), got {window}"), "loc": (index, "maxBatchingWindowSeconds"),
                          "input": window})
        if isinstance(size, int) and size > MAX_FIFO_BATCH_SIZE:
            found.append({"type": rule(f"must be at most {MAX_FIFO_BATCH_SIZE} with ordering fifo (Lambda's "
                                        f"maximum for a FIFO queue), got {size}"), "loc": (index, "batchSize"),
                          "input": size})
    return found


def installed_powertools_version() -> str:
    """The Powertools version the tests run is the version the layer deploys."""
    return metadata.version("aws-lambda-powertools")


def load_settings(context: dict[str, Any] | None) -> AppSettings:
    """Build AppSettings from the `wildrydes` context value; raise ConfigError listing every problem."""
    if not isinstance(context, dict):
        raise ConfigError([f"'{CONTEXT_KEY}' is missing or not an object"])
    try:
        return AppSettings.model_validate(context)
    except ValidationError as error:
        raise ConfigError(problems(error, context, _field)) from None


def _field(loc: tuple[int | str, ...]) -> FieldInfo:
    """The field an error's location names: a service's (subscribers, index, alias) or the app's (alias)."""
    model, alias = (SubscriberSettings, loc[2]) if len(loc) > 2 else (AppSettings, loc[0])
    return next(f for f in model.model_fields.values() if f.alias == alias)
