"""Load: send rides through the API (or straight to the topic) at a rate, with concurrent clients.

Open-loop pacing: item n is due `n / rate` seconds after the start, whichever client sends it, so
a slow answer does not slow the schedule (a client that falls behind sends at once). Without a rate,
each client sends as fast as it gets answers. Clients are threads sharing one httpx connection
pool (the GIL is released while they wait on the network, which is nearly all they do).

Through the API every valid ride carries an `Idempotency-Key`, so answers 429 (throttled), 5xx and
broken connections are retried with exponential backoff and jitter without ever creating a second
ride. `--via topic` publishes with SNS `PublishBatch` (10 a call) the message the producer would
publish (ops/traffic.py), bypassing the API and the Rides table.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from ops.errors import OpsError
from ops.traffic import Item, ride_attributes, ride_message, ride_mix

RETRYABLE_STATUSES = frozenset({0, 429, 500, 502, 503, 504})  # 0: no answer (connection refused, reset, timeout)
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.05, 2.0
TOPIC_BATCH = 10  # SNS PublishBatch takes at most 10 entries


@dataclass(frozen=True)
class SendOptions:
    rides: int | None = 100  # None: until `duration` runs out
    duration: float | None = None  # seconds
    rate: float | None = None  # requests per second; None: as fast as the clients get answers
    concurrency: int = 16
    via: str = "api"  # or "topic"
    extraordinary_share: float = 0.3
    invalid_share: float = 0.0
    seed: int = 7
    retries: int = 5
    timeout: float = 30.0
    sign: bool = True  # SigV4 with the target's credentials (the POST is IAM-authorized by default)

    def check(self) -> None:
        problems = []
        if self.rides is None and self.duration is None:
            problems.append("give a number of rides or a --duration")
        if self.rides is not None and self.rides < 1:
            problems.append("--rides must be at least 1")
        if self.duration is not None and self.duration <= 0:
            problems.append("--duration must be positive")
        if self.rate is not None and self.rate <= 0:
            problems.append("--rate must be positive")
        if not 1 <= self.concurrency <= 256:
            problems.append("--concurrency must be from 1 to 256")
        if self.via not in ("api", "topic"):
            problems.append("--via must be api or topic")
        for name in ("extraordinary_share", "invalid_share"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"--{name.replace('_', '-')} must be from 0 to 1")
        if self.retries < 0:
            problems.append("--retries must be 0 or more")
        if problems:
            raise OpsError("; ".join(problems))


@dataclass(frozen=True)
class Outcome:
    """What became of one request."""

    index: int
    valid: bool
    status: int  # HTTP status (through the API), 200 for a published entry, 0 for no answer
    latency: float  # seconds from the first attempt to the final answer, retries included
    attempts: int
    ride_id: str | None = None
    fare: float | None = None
    distance: float | None = None
    error: str | None = None
    customer: str | None = None

    @property
    def category(self) -> str:
        """accepted (a ride in), poison (an invalid body in: the point of --via topic --invalid), rejected, failed."""
        if 200 <= self.status < 300 and (self.ride_id is not None or not self.valid):
            return "accepted" if self.valid else "poison"
        if 400 <= self.status < 500:
            return "rejected"
        return "failed"


@dataclass
class SendReport:
    via: str
    outcomes: list[Outcome] = field(default_factory=list)
    elapsed: float = 0.0
    interrupted: bool = False

    def accepted(self) -> list[dict[str, Any]]:
        """Accepted rides as reconciliation needs them: id, fare, distance, customer."""
        return [{"id": o.ride_id, "fare": o.fare, "distance": o.distance, "customer": o.customer}
                for o in sorted(self.outcomes, key=lambda o: o.index) if o.category == "accepted"]

    def summary(self) -> dict[str, Any]:
        categories = Counter(o.category for o in self.outcomes)
        latencies = sorted(o.latency for o in self.outcomes)
        invalid_answer = "poison" if self.via == "topic" else "rejected"  # what an invalid body should get
        return {
            "via": self.via, "sent": len(self.outcomes), "accepted": categories["accepted"],
            "rejected": categories["rejected"], "failed": categories["failed"], "poison": categories["poison"],
            "invalid_sent": sum(not o.valid for o in self.outcomes),
            "unexpected": sum(o.category != ("accepted" if o.valid else invalid_answer) for o in self.outcomes),
            "statuses": {str(k): v for k, v in sorted(Counter(o.status for o in self.outcomes).items())},
            "retries": sum(o.attempts - 1 for o in self.outcomes),
            "elapsed_seconds": round(self.elapsed, 3),
            "achieved_rate": round(len(self.outcomes) / self.elapsed, 2) if self.elapsed else 0.0,
            "latency_ms": {f"p{q}": round(percentile(latencies, q) * 1000, 1) for q in (50, 95, 99)},
            "interrupted": self.interrupted,
        }


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not ordered:
        return 0.0
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def backoff(attempt: int, jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): exponential, capped, with full jitter."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)) * (0.5 + jitter() / 2)


# -- one request through the API -------------------------------------------------------------------------
class ApiSender:
    """POSTs items to the API; thread-safe (one httpx client, one connection pool)."""

    def __init__(self, url: str, *, concurrency: int, retries: int, timeout: float, run_id: str | None = None,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
                 auth: httpx.Auth | None = None) -> None:
        self.url, self.retries, self.sleep = url, retries, sleep
        self.run_id = run_id or uuid.uuid4().hex[:12]
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = client or httpx.Client(limits=limits, timeout=timeout, auth=auth)

    def close(self) -> None:
        self.client.close()

    def __call__(self, items: list[Item]) -> list[Outcome]:
        return [self.send(item) for item in items]

    def send(self, item: Item) -> Outcome:
        headers = {"Content-Type": "application/json"}
        if item.valid:  # a retry of the same request is the same ride
            headers["Idempotency-Key"] = f"{self.run_id}-{item.index}"
        started, attempts = time.monotonic(), 0
        while True:
            attempts += 1
            status, answer, error = self._post(item.body, headers)
            if status not in RETRYABLE_STATUSES or attempts > self.retries:
                break
            self.sleep(backoff(attempts))
        ride_id = answer.get("id") if status == 201 and isinstance(answer, dict) else None
        ride = item.ride or {}
        return Outcome(index=item.index, valid=item.valid, status=status, latency=time.monotonic() - started,
                       attempts=attempts, ride_id=str(ride_id) if ride_id else None, fare=ride.get("fare"),
                       customer=ride.get("customer"),
                       distance=ride.get("distance"), error=error)

    def _post(self, body: str, headers: dict[str, str]) -> tuple[int, Any, str | None]:
        try:
            response = self.client.post(self.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            return 0, {}, f"{type(error).__name__}: {error}"
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        error = None if response.status_code < 400 else str(answer.get("message") if isinstance(answer, dict)
                                                             else response.text[:200])
        return response.status_code, answer, error


# -- ten rides straight to the topic ----------------------------------------------------------------------
class TopicSender:
    """Publishes items with SNS PublishBatch; a valid ride gets a fresh id, as the producer would give it."""

    def __init__(self, sns: Any, topic_arn: str, *, retries: int, sleep: Callable[[float], None] = time.sleep,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.sns, self.topic_arn, self.retries, self.sleep, self.new_id = sns, topic_arn, retries, sleep, new_id

    def __call__(self, items: list[Item]) -> list[Outcome]:
        started = time.monotonic()
        ids = {item.index: self.new_id() for item in items if item.valid}
        pending = {item.index: item for item in items}
        attempts: Counter[int] = Counter()
        done: dict[int, tuple[int, str | None]] = {}
        while pending:
            entries = [self._entry(item, ids.get(item.index)) for item in pending.values()]
            for index in pending:
                attempts[index] += 1
            try:
                response = self.sns.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=entries)
            except (ClientError, BotoCoreError) as error:
                failed = {index: (0, f"{type(error).__name__}: {error}") for index in pending}
                retryable = set(pending)
            else:
                for entry in response.get("Successful", []):
                    done[int(entry["Id"])] = (200, None)
                    pending.pop(int(entry["Id"]), None)
                failed = {int(f["Id"]): (400 if f.get("SenderFault") else 500, f.get("Message"))
                          for f in response.get("Failed", [])}
                retryable = {index for index, (status, _) in failed.items() if status == 500}
            for index, result in failed.items():
                if index not in retryable or attempts[index] > self.retries:
                    done[index] = result
                    pending.pop(index, None)
            if pending:
                self.sleep(backoff(max(attempts[i] for i in pending)))
        latency = time.monotonic() - started
        outcomes = []
        for item in items:
            status, error = done[item.index]
            ride = item.ride or {}
            outcomes.append(Outcome(index=item.index, valid=item.valid, status=status, latency=latency,
                                    attempts=attempts[item.index], ride_id=ids.get(item.index) if status == 200
                                    else None, fare=ride.get("fare"), distance=ride.get("distance"), error=error,
                                    customer=ride.get("customer")))
        return outcomes

    @staticmethod
    def _entry(item: Item, ride_id: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": str(item.index)}
        if item.ride is not None and ride_id is not None:
            ride = {**item.ride, "id": ride_id}
            entry.update(Message=ride_message(ride), MessageAttributes=ride_attributes(ride))
        else:  # an invalid ride published as is: a poison message for the consumers
            entry["Message"] = item.body
        return entry


# -- the driver ---------------------------------------------------------------------------------------------
def drive(items: Iterable[Item], handle: Callable[[list[Item]], list[Outcome]], *, concurrency: int,
          rate: float | None = None, duration: float | None = None, batch: int = 1,
          on_outcome: Callable[[Outcome], None] | None = None, stop: threading.Event | None = None,
          clock: Callable[[], float] = time.monotonic, wait: Callable[[float], bool] | None = None) -> SendReport:
    """Send `items` with `concurrency` clients, item n due n / rate seconds after the start.

    `clock` and `wait` (seconds -> True if stopped meanwhile; `stop.wait` by default) are the time it paces
    by: tests pass a clock of their own."""
    stop = stop or threading.Event()
    wait = wait or stop.wait
    source: Iterator[Item] = iter(items)
    lock = threading.Lock()
    report = SendReport(via="")
    started = clock()
    deadline = None if duration is None else started + duration
    errors: list[BaseException] = []

    def take() -> list[Item]:
        with lock:
            if stop.is_set() or (deadline is not None and clock() >= deadline):
                return []
            return list(itertools.islice(source, batch))

    def client() -> None:
        try:
            while chunk := take():
                if rate:
                    delay = started + chunk[0].index / rate - clock()
                    if delay > 0 and wait(delay):
                        return
                    if deadline is not None and clock() >= deadline:
                        return
                for outcome in handle(chunk):
                    report.outcomes.append(outcome)
                    if on_outcome:
                        on_outcome(outcome)
        except BaseException as error:  # surfaced in the calling thread
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=client, daemon=True, name=f"send-{n}") for n in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:  # finish what is in flight, then report what was sent
        stop.set()
        report.interrupted = True
        for thread in threads:
            thread.join()
    report.elapsed = clock() - started
    if errors:
        raise errors[0]
    return report


def send(target: Any, options: SendOptions, *, on_outcome: Callable[[Outcome], None] | None = None,
         stop: threading.Event | None = None) -> SendReport:
    """Send rides to a target (ops.target.Target) as the options say."""
    options.check()
    items = ride_mix(options.rides, seed=options.seed, extraordinary_share=options.extraordinary_share,
                     invalid_share=options.invalid_share)
    if options.via == "topic":
        sns = target.client("sns", pool=options.concurrency + 4)
        handler: Any = TopicSender(sns, target.output("RideCompletionTopicArn"), retries=options.retries)
        batch = TOPIC_BATCH
    else:
        handler = ApiSender(target.api_url, concurrency=options.concurrency, retries=options.retries,
                            timeout=options.timeout, auth=target.api_auth() if options.sign else None)
        batch = 1
    try:
        report = drive(items, handler, concurrency=options.concurrency, rate=options.rate,
                       duration=options.duration, batch=batch, on_outcome=on_outcome, stop=stop)
    finally:
        if isinstance(handler, ApiSender):
            handler.close()
    report.via = options.via
    return report


def write_accepted(path: Path, report: SendReport) -> int:
    """Write the accepted rides as JSON lines ({"id", "fare", "distance", "customer"}); return how many."""
    rides = report.accepted()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(ride) + "\n" for ride in rides))
    return len(rides)


def read_accepted(path: Path) -> list[dict[str, Any]]:
    """Rides written by write_accepted (or any JSON lines with id, fare and distance, and optionally customer:
    without it, reconciliation takes the customer from the ledger)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise OpsError(f"cannot read {path}: {error.strerror}") from error
    rides = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            ride = json.loads(line)
            rides.append({"id": str(ride["id"]), "fare": float(ride["fare"]), "distance": float(ride["distance"]),
                          "customer": None if ride.get("customer") is None else str(ride["customer"])})
        except (ValueError, KeyError, TypeError) as error:
            raise OpsError(f"{path}:{number}: not a ride with id, fare and distance") from error
    return rides


def outcome_dicts(report: SendReport) -> list[dict[str, Any]]:
    return [asdict(o) | {"category": o.category} for o in report.outcomes]
