"""What a game day is made of and what it reports: the alarms a scenario expects (by metric and resource),
the drill a scenario's functions share, and the result with its steps and timings.

Apart from the runner (ops/drill.py) so that the scenarios (ops/drill_scenarios.py) and the views
(ops/views.py) can name these without importing the runner and what it waits on.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from ops.errors import OpsError
from ops.services import Service

LOCAL_FLOOR_SECONDS = 30.0  # what does not scale locally (sending, polling, Python) still takes real seconds


class DrillAborted(Exception):
    """The drill stopped itself (unexpected alarm, timeout, failed step): rolled back, not passed."""


@dataclass(frozen=True)
class AlarmSpec:
    """An alarm by what it watches: a metric and a dimension value (a queue, function or topic name), or
    None for the stack's only alarm on that metric (the API's 5XXError)."""

    namespace: str
    metric: str
    resource: str | None = None

    def matches(self, alarm: dict[str, Any]) -> bool:
        if (alarm.get("Namespace"), alarm.get("MetricName")) != (self.namespace, self.metric):
            return False
        return self.resource is None or self.resource in {d["Value"] for d in alarm.get("Dimensions", [])}


def resolve(alarms: list[dict[str, Any]], spec: AlarmSpec) -> dict[str, Any]:
    found = [a for a in alarms if spec.matches(a)]
    if len(found) != 1:
        what = f"{spec.namespace} {spec.metric}" + (f" of {spec.resource}" if spec.resource else "")
        raise OpsError(f"the stack has {len(found)} alarms on {what}, not one: is the stack up to date "
                       "(`make deploy`)?")
    return found[0]


@dataclass
class Step:
    elapsed: float
    name: str
    ok: bool
    detail: str = ""


@dataclass
class FiredAlarm:
    name: str
    metric: str
    expected: bool
    seconds_to_alarm: float | None = None
    seconds_to_ok: float | None = None


@dataclass
class DrillResult:
    scenario: str
    service: str | None
    target: str
    stack: str
    time_scale: float
    passed: bool = False
    reason: str | None = None
    interrupted: bool = False
    steps: list[Step] = field(default_factory=list)
    expected_alarms: list[str] = field(default_factory=list)
    alarms_fired: list[FiredAlarm] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    rides_sent: int = 0
    lost: int | None = None
    in_dlq: int | None = None
    details: dict[str, Any] = field(default_factory=dict)  # what the scenario counted (statuses, poison, ...)
    elapsed_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Drill:
    """What a scenario's functions get: the target, the service, and room for what they must remember."""

    target: Any
    service: Service | None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    rides: list[dict[str, Any]] = field(default_factory=list)  # accepted rides (id, fare, distance)
    state: dict[str, Any] = field(default_factory=dict)  # what the rollback needs
    details: dict[str, Any] = field(default_factory=dict)
    aborting: bool = False  # the rollback runs after a failure: do not wait long

    @property
    def scale(self) -> float:
        return float(getattr(self.target, "time_scale", 1.0) or 1.0)

    def real(self, cloud_seconds: float) -> float:
        """Real seconds for a span of the cloud's clock (with a floor locally, where not everything scales)."""
        seconds = cloud_seconds * self.scale
        return max(seconds, LOCAL_FLOOR_SECONDS) if self.target.kind == "local" else seconds
