"""What one invocation reports to those around it: the error it failed with, the record the AWS/Lambda
metrics count, who is told of it (Observer), and where its log lines go (LogSink).

The vocabulary shared by the execution environments (environments.py), their callers (the pollers and
the API's front door) and the metrics, so that none of them imports another's machinery to name it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class InvocationError(RuntimeError):
    """The invocation failed: the handler raised, timed out, or could not be imported."""

    def __init__(self, error_type: str, message: str, trace: str = "") -> None:
        self.error_type, self.trace = error_type, trace
        super().__init__(f"{error_type}: {message}")


@dataclass(frozen=True)
class InvocationRecord:
    """What CloudWatch's AWS/Lambda metrics count, for one invocation."""

    function_name: str
    duration_ms: float
    error_type: str | None
    cold_start: bool


class Observer(Protocol):
    """Told of every invocation (local/lambda_service/metrics.py counts them as CloudWatch would)."""

    def begin(self, function_name: str) -> None: ...

    def end(self, record: InvocationRecord) -> None: ...


LogSink = Callable[[str, str, list[tuple[int, str]]], None]  # (group, stream, events)
