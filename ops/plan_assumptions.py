"""What `wildrydes plan` assumes beyond the template (seconds a batch, rate, backlog, overrides), checked once."""

from __future__ import annotations

from dataclasses import dataclass, field

from ops.errors import OpsError


@dataclass(frozen=True)
class Assumptions:
    seconds_per_batch: float = 1.0
    parallel: int | None = None
    backlog: int | None = None
    rate: float | None = None  # rides per second; None: the API stage's throttling rate
    producer_seconds: float = 0.1
    shares: dict[str, float] = field(default_factory=dict)  # service -> share of rides its filter passes
    concurrency: int | None = None  # overrides, applied to every service
    batch_size: int | None = None
    groups: int | None = None  # FIFO: customers with rides waiting (one batch each at a time)


def check_assumptions(a: Assumptions) -> None:
    problems = []
    if a.seconds_per_batch <= 0:
        problems.append("--seconds-per-batch must be positive")
    if a.parallel is not None and a.parallel < 1:
        problems.append("--parallel must be at least 1")
    if a.concurrency is not None and a.concurrency < 1:
        problems.append("--concurrency must be at least 1")
    if a.batch_size is not None and not 1 <= a.batch_size <= 10_000:
        problems.append("--batch-size must be from 1 to 10000")
    if a.backlog is not None and a.backlog < 0:
        problems.append("--backlog must be 0 or more")
    if a.rate is not None and a.rate <= 0:
        problems.append("--rate must be positive")
    if a.producer_seconds < 0:
        problems.append("--producer-seconds must be 0 or more")
    problems += [f"--share {name}={share}: must be from 0 to 1" for name, share in a.shares.items()
                 if not 0 <= share <= 1]
    if problems:
        raise OpsError("; ".join(problems))
