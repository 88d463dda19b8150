"""Publishing the metrics AWS services send CloudWatch on their own (AWS/Lambda, AWS/SQS, ...) into the
local CloudWatch, every few seconds, from whatever sources the local cloud gives it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

PUBLISH_SECONDS = 5.0


def publish_interval(time_scale: float) -> float:
    """Every few seconds; under TIME_SCALE at least twice per (scaled) minute, so that every period an
    alarm evaluates has its datapoints."""
    return min(PUBLISH_SECONDS, 30 * time_scale)

Source = Callable[[], list[dict[str, Any]]]  # MetricData gathered since the last call


class MetricsPublisher:
    """Puts metrics into CloudWatch every few seconds, from a daemon thread: per namespace, a source."""

    def __init__(self, sources: dict[str, Source], put: Callable[..., Any], *, interval: float = PUBLISH_SECONDS,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.sources, self.put, self.interval, self.on_error = sources, put, interval, on_error
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="metrics")

    def start(self) -> None:
        self.thread.start()

    def flush(self) -> None:
        for namespace, source in self.sources.items():
            data = source()
            for start in range(0, len(data), 500):
                self.put(Namespace=namespace, MetricData=data[start:start + 500])

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.flush()
            except Exception as error:  # the local CloudWatch is going away, or a passing fault: try next time
                if self.on_error and not self.stopping.is_set():
                    self.on_error(f"publishing metrics failed: {error}")

    def stop(self) -> None:
        self.stopping.set()
