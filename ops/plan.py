"""Capacity and cost, per service, from the synthesized template (no AWS call).

Definitions (the numbers `wildrydes plan` prints):
- batch time T: how long one invocation takes for its batch. By default `--seconds-per-batch` is T.
  If the handler works on its records P at a time (`--parallel P`), `--seconds-per-batch` is the
  time of one such round and a batch of B records takes ceil(B / P) rounds: T = ceil(B / P) x seconds.
- maximum throughput = maximum concurrency x B / T messages per second, once Lambda has scaled up
  (a full backlog keeps every batch full, so the batching window adds nothing).
- drain time of a backlog = backlog / maximum throughput.
- concurrency needed for a rate R of messages = ceil(R x T / B).
Worked examples (the tests hold them): concurrency 10, batch 1, 5 s a batch -> 10 x 1 / 5 = 2
messages/s, 50,000 drain in 25,000 s (about 7 hours); concurrency 100, batch 10 processed 10 at a
time, 5 s a round -> T = ceil(10/10) x 5 = 5 s, 100 x 10 / 5 = 200 messages/s, 50,000 in 250 s.

AWS guidance checked: visibility timeout >= 6 x function timeout + batching window; maxReceiveCount >= 5.

Cost per million rides from ops/prices.toml (one editable table): API Gateway REST requests; the
producer's Lambda requests and GB-seconds (`--producer-seconds` a ride); the Rides table's two
writes a ride (store PENDING, mark PUBLISHED); one SNS publish a ride; per service, for the share of
rides its filter lets through (`--share SERVICE=FRACTION`, default 1: every ride), one SNS delivery,
one SQS SendMessage, one ReceiveMessage and one DeleteMessageBatch per batch, its Lambda requests
and GB-seconds (batches x T x memory), one DynamoDB write a ride (a service that keeps accounts: a
strongly consistent read and a two-item transaction, four write units). Not counted: free tiers, KMS,
CloudWatch logs, metrics and alarms, X-Ray, data transfer, empty receives while idle.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from cloud_assembly import target
from ops import fifo_limits
from ops.errors import OpsError
from ops.plan_assumptions import Assumptions, check_assumptions

PRICES_FILE = Path(__file__).with_name("prices.toml")
VISIBILITY_FACTOR = 6
MIN_MAX_RECEIVE_COUNT = 5
RIDES = 1_000_000  # cost is per million rides
DEFAULT_MAX_CONCURRENCY = 1000  # an event source mapping without MaximumConcurrency: up to the account's limit


@dataclass(frozen=True)
class ServiceSettings:
    """What the template deploys for one subscriber service."""

    name: str
    batch_size: int
    window_seconds: int
    max_concurrency: int
    timeout_seconds: int
    memory_mb: int
    architecture: str
    visibility_seconds: int
    max_receive_count: int | None
    fifo: bool = False  # an SQS FIFO queue (ordering "fifo"): ops/fifo_limits.py
    accounts: bool = False  # a ledger + accounts service: each ride is a read and a two-item transaction


@dataclass(frozen=True)
class Producer:
    memory_mb: int
    architecture: str
    api_rate_limit: float | None


@dataclass(frozen=True)
class ServicePlan:
    service: str
    batch_size: int
    window_seconds: int
    max_concurrency: int
    timeout_seconds: int
    batch_seconds: float
    throughput_per_second: float
    drain_seconds: float | None
    rate_per_second: float | None
    concurrency_needed: int | None
    visibility_seconds: int
    visibility_minimum: int
    visibility_ok: bool
    max_receive_count: int | None
    max_receive_count_ok: bool
    warnings: list[str]


@dataclass(frozen=True)
class CostLine:
    component: str
    service: str | None  # None: the producer side, once per ride
    quantity: float  # per million rides
    unit: str
    unit_price: float  # per unit
    cost: float


@dataclass(frozen=True)
class Plan:
    services: list[ServicePlan]
    costs: list[CostLine]
    prices: dict[str, Any]
    assumptions: Assumptions

    @property
    def cost_per_million(self) -> float:
        return sum(line.cost for line in self.costs)

    def as_dict(self) -> dict[str, Any]:
        return {"services": [asdict(s) for s in self.services], "costs": [asdict(c) for c in self.costs],
                "cost_per_million_rides": round(self.cost_per_million, 4), "assumptions": asdict(self.assumptions),
                "prices": {k: self.prices[k] for k in ("date", "region", "currency", "sources")}}


# -- reading the template -----------------------------------------------------------------------------------
def read_template(path: Path) -> tuple[list[ServiceSettings], Producer]:
    try:
        template = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise OpsError(f"no synthesized template at {path}: run `make synth` (or pass --template)") from error
    except (OSError, ValueError) as error:
        raise OpsError(f"cannot read the template {path}: {error}") from error
    resources = template.get("Resources", {})
    mappings = {target(r["Properties"].get("EventSourceArn"), resources): r["Properties"] for r in resources.values()
                if r.get("Type") == "AWS::Lambda::EventSourceMapping"}
    services = []
    for key, output in template.get("Outputs", {}).items():
        if not key.endswith("QueueUrl") or key.endswith("DlqUrl"):
            continue
        queue_id = target(output.get("Value"), resources)
        mapping = mappings.get(queue_id)
        if queue_id is None or mapping is None:
            continue
        queue = resources[queue_id].get("Properties", {})
        function = resources.get(target(mapping.get("FunctionName"), resources) or "", {}).get("Properties", {})
        redrive = queue.get("RedrivePolicy") or {}
        services.append(ServiceSettings(
            name=key[: -len("QueueUrl")], batch_size=int(mapping.get("BatchSize", 10)),
            window_seconds=int(mapping.get("MaximumBatchingWindowInSeconds", 0)),
            max_concurrency=int((mapping.get("ScalingConfig") or {}).get("MaximumConcurrency",
                                                                         DEFAULT_MAX_CONCURRENCY)),
            timeout_seconds=int(function.get("Timeout", 3)), memory_mb=int(function.get("MemorySize", 128)),
            architecture=(function.get("Architectures") or ["x86_64"])[0],
            visibility_seconds=int(queue.get("VisibilityTimeout", 30)),
            max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
            fifo=bool(queue.get("FifoQueue")),
            accounts="ACCOUNTS_TABLE_NAME" in (function.get("Environment") or {}).get("Variables", {})))
    if not services:
        raise OpsError(f"{path} has no subscriber service (no <Service>QueueUrl output with an event source mapping)")
    return sorted(services, key=lambda s: s.name), _producer(resources)


def _producer(resources: dict[str, Any]) -> Producer:
    rate = None
    function: dict[str, Any] = {}
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::ApiGateway::Stage":
            rates = [s["ThrottlingRateLimit"] for s in properties.get("MethodSettings", [])
                     if "ThrottlingRateLimit" in s]
            rate = float(rates[0]) if rates else rate
        if resource.get("Type") == "AWS::ApiGateway::Method":
            integration = target(properties.get("Integration", {}).get("Uri"), resources)
            function = resources.get(integration or "", {}).get("Properties", function)
    return Producer(memory_mb=int(function.get("MemorySize", 128)),
                    architecture=(function.get("Architectures") or ["x86_64"])[0], api_rate_limit=rate)


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise OpsError(f"cannot read the price table {path}: {error}") from error


# -- the arithmetic -------------------------------------------------------------------------------------------
def batch_seconds(batch_size: int, seconds: float, parallel: int | None) -> float:
    """Time of one invocation: `seconds`, or ceil(batch / parallel) rounds of `seconds` each."""
    return math.ceil(batch_size / parallel) * seconds if parallel else seconds


def throughput(concurrency: int, batch_size: int, seconds: float) -> float:
    """Messages per second at full concurrency with full batches."""
    return concurrency * batch_size / seconds


def plan_service(settings: ServiceSettings, assumptions: Assumptions, rate: float | None) -> ServicePlan:
    s = replace(settings, max_concurrency=assumptions.concurrency or settings.max_concurrency,
                batch_size=assumptions.batch_size or settings.batch_size)
    seconds = batch_seconds(s.batch_size, assumptions.seconds_per_batch, assumptions.parallel)
    rate_here = None if rate is None else rate * assumptions.shares.get(s.name, 1.0)
    running = (fifo_limits.concurrency_with_groups(s.max_concurrency, assumptions.groups) if s.fifo
               else s.max_concurrency)  # a FIFO queue runs one batch per customer at a time
    per_second = throughput(running, s.batch_size, seconds)
    minimum = VISIBILITY_FACTOR * s.timeout_seconds + s.window_seconds
    warnings = fifo_limits.warnings(rate=rate_here, topic_rate=rate, max_concurrency=s.max_concurrency,
                                    groups=assumptions.groups) if s.fifo else []
    if seconds > s.timeout_seconds:
        warnings.append(f"a batch takes {seconds:g} s, over the function timeout of {s.timeout_seconds} s")
    needed = None if rate_here is None else math.ceil(rate_here * seconds / s.batch_size)
    if needed is not None and needed > s.max_concurrency:
        warnings.append(f"{rate_here:g} messages/s needs concurrency {needed}, over its maximum {s.max_concurrency}")
    return ServicePlan(
        service=s.name, batch_size=s.batch_size, window_seconds=s.window_seconds, max_concurrency=s.max_concurrency,
        timeout_seconds=s.timeout_seconds, batch_seconds=seconds, throughput_per_second=per_second,
        drain_seconds=None if assumptions.backlog is None else assumptions.backlog / per_second,
        rate_per_second=rate_here, concurrency_needed=needed, visibility_seconds=s.visibility_seconds,
        visibility_minimum=minimum, visibility_ok=s.visibility_seconds >= minimum,
        max_receive_count=s.max_receive_count,
        max_receive_count_ok=s.max_receive_count is not None and s.max_receive_count >= MIN_MAX_RECEIVE_COUNT,
        warnings=warnings)


def costs(services: list[ServiceSettings], producer: Producer, assumptions: Assumptions,
          prices: dict[str, Any]) -> list[CostLine]:
    """Per million rides, one line per billed item (quantities per million rides)."""
    p, million = prices, 1_000_000

    def line(component: str, quantity: float, unit: str, price: float, per: float = 1.0,
             service: str | None = None) -> CostLine:
        return CostLine(component, service, quantity, unit, price / per, quantity * price / per)

    def gb_second(architecture: str) -> float:
        return float(p["lambda"][f"gb_second_{architecture.replace('-', '_')}"])

    lines = [
        line("API Gateway REST requests", RIDES, "requests", p["apigateway"]["rest_requests_per_million"], million),
        line("Producer Lambda requests", RIDES, "requests", p["lambda"]["requests_per_million"], million),
        line(f"Producer Lambda GB-s ({producer.architecture})",
             RIDES * assumptions.producer_seconds * producer.memory_mb / 1024, "GB-s",
             gb_second(producer.architecture)),
        line("Rides table writes (PENDING, PUBLISHED)", 2 * RIDES, "write units",
             p["dynamodb"]["on_demand_write_units_per_million"], million),
        line("SNS publishes", RIDES, "requests", p["sns"]["publishes_per_million"], million),
    ]
    for s in services:
        s = replace(s, batch_size=assumptions.batch_size or s.batch_size)
        delivered = RIDES * assumptions.shares.get(s.name, 1.0)
        batches = delivered / s.batch_size
        seconds = batch_seconds(s.batch_size, assumptions.seconds_per_batch, assumptions.parallel)
        lines += [
            line("SNS deliveries to SQS", delivered, "deliveries", p["sns"]["sqs_deliveries_per_million"], million,
                 s.name),
            line("SQS requests (send, receive, delete)", delivered + 2 * batches, "requests",
                 p["sqs"]["standard_requests_per_million"], million, s.name),
            line("Consumer Lambda requests", batches, "requests", p["lambda"]["requests_per_million"], million, s.name),
            line(f"Consumer Lambda GB-s ({s.architecture})", batches * seconds * s.memory_mb / 1024, "GB-s",
                 gb_second(s.architecture), service=s.name),
        ]
        if s.accounts:  # a transactional write is two units per item: ledger entry + account, no read
            lines.append(line("Ledger + account transaction (2 items x 2 units)", 4 * delivered, "write units",
                              p["dynamodb"]["on_demand_write_units_per_million"], million, s.name))
        else:
            lines.append(line("Effect table writes", delivered, "write units",
                              p["dynamodb"]["on_demand_write_units_per_million"], million, s.name))
    return lines


def make_plan(template: Path, assumptions: Assumptions, prices: dict[str, Any] | None = None) -> Plan:
    check_assumptions(assumptions)
    services, producer = read_template(template)
    unknown = set(assumptions.shares) - {s.name for s in services}
    if unknown:
        raise OpsError(f"--share names no service: {', '.join(sorted(unknown))} "
                       f"(services: {', '.join(s.name for s in services)})")
    rate = assumptions.rate if assumptions.rate is not None else producer.api_rate_limit
    prices = prices or load_prices()
    return Plan(services=[plan_service(s, assumptions, rate) for s in services],
                costs=costs(services, producer, assumptions, prices), prices=prices,
                assumptions=replace(assumptions, rate=rate))


def parse_shares(values: list[str]) -> dict[str, float]:
    shares = {}
    for value in values:
        name, _, share = value.partition("=")
        try:
            shares[name.strip()] = float(share)
        except ValueError as error:
            raise OpsError(f"--share {value!r}: write SERVICE=FRACTION, e.g. ExtraordinaryRides=0.3") from error
    return shares


def human_duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds:,.0f} s ({seconds / 60:.1f} min)"
    return f"{seconds:,.0f} s ({seconds / 3600:.1f} h)"
