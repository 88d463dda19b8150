"""What a local event source mapping counts: invocations, batches per worker, receives per message.

Kept bounded at any load: the counters cover everything, the per-message and per-invocation detail
(for tests and the demo) keeps the most recent entries only.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Any

KEPT_INVOCATIONS = 20_000  # invocation records kept for inspection
KEPT_MESSAGES = 200_000  # per-message entries kept (oldest dropped first)


@dataclass
class Invocation:
    """One batch as a worker handled it: the load-balancing record."""

    worker: int
    message_ids: list[str]
    failed_ids: list[str]
    error: str | None
    started: float
    ended: float
    cold_start: bool = False


@dataclass
class MappingStats:
    invocations: deque[Invocation] = field(default_factory=lambda: deque(maxlen=KEPT_INVOCATIONS))
    batches: Counter[int] = field(default_factory=Counter)  # worker -> batches
    records: int = 0
    failed_records: int = 0
    errors: int = 0
    cold_starts: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    received: dict[str, int] = field(default_factory=dict)  # message id -> receives
    message_rides: dict[str, str] = field(default_factory=dict)  # message id -> ride id in its body
    deleted: dict[str, None] = field(default_factory=dict)  # message ids deleted after success
    distinct: int = 0  # messages seen at least once
    problems: list[str] = field(default_factory=list)

    @property
    def retried(self) -> int:
        """Receives beyond the first."""
        return self.records - self.distinct

    def summary(self) -> dict[str, Any]:
        return {"invocations": sum(self.batches.values()), "batches_per_worker": dict(sorted(self.batches.items())),
                "records": self.records, "failed_records": self.failed_records, "errors": self.errors,
                "cold_starts": self.cold_starts, "in_flight": self.in_flight, "max_in_flight": self.max_in_flight,
                "retried": self.retried, "problems": list(self.problems)}

    def detail(self) -> dict[str, Any]:
        return {**self.summary(), "received": dict(self.received), "message_rides": dict(self.message_rides),
                "deleted": list(self.deleted), "invocation_records": [asdict(i) for i in self.invocations]}


def remember(table: dict[str, Any], key: str, value: Any) -> None:
    """Set a per-message entry, dropping the oldest half when the table is full."""
    table[key] = value
    if len(table) > KEPT_MESSAGES:
        for old in list(table)[:KEPT_MESSAGES // 2]:
            del table[old]


def ride_id_of(body: str) -> str | None:
    """The ride id in a message body, if it is a ride (for the per-message detail)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return str(value["id"]) if isinstance(value, dict) and "id" in value else None
