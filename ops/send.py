"""Load: send rides through the API (or straight to the topic) at a rate, with concurrent clients.

Open-loop pacing: item n is due `n / rate` seconds after the start, whichever client sends it, so
a slow answer does not slow the schedule (a client that falls behind sends at once). Without a rate,
each client sends as fast as it gets answers. Clients are threads sharing one httpx connection
pool (the GIL is released while they wait on the network, which is nearly all they do).

Through the API every valid ride carries an `Idempotency-Key`, so answers 429 (throttled), 5xx and
broken connections are retried with exponential backoff and jitter without ever creating a second
ride. `--via topic` publishes with SNS `PublishBatch` (10 a call) the message the producer would
publish (ops/traffic.py), bypassing the API and the Rides table.

Here: the options, the driver that paces the clients, and `send`, which wires them. The two ways of
sending one batch are in ops/senders.py; what became of each ride, and the file of accepted rides,
in ops/send_report.py.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ops.errors import OpsError
from ops.send_report import Outcome, SendReport
from ops.senders import TOPIC_BATCH, ApiSender, TopicSender
from ops.traffic import Item, ride_mix


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


