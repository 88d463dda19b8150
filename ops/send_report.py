"""What a load run reports: an Outcome per ride, the summary of a run, and the accepted rides as JSON lines
(what `wildrydes send --out` writes and `wildrydes reconcile` reads).

Apart from the senders and the driver so that the benchmarks, the drills and reconciliation can read
a run's results without the machinery that produced them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ops.errors import OpsError


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
