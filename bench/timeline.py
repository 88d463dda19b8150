"""A load run's timeline: what the queues held and how many rides were in, every few seconds of the run.

Two end points (sent at, drained at) hide how a run drained: whether the queues grew steadily while rides
came in, or piled up in one service, and when the dead letters arrived. So while `bench.local_cloud_load`
sends and drains, a thread samples every `every` seconds: the seconds since the first send, the rides
accepted so far (from `wildrydes send`'s outcomes), and per service the messages in its queue and in each of
its DLQs, visible or in flight (`ops.watch`'s reads, the queues found from the stack outputs as every
`wildrydes` command finds them). The samples go into the result file, and `scripts/benchmarks_page.py` draws
them on the benchmarks page. A sample is one GetQueueAttributes per queue: nine calls every few seconds,
next to the run's hundred deliveries a second.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ops.send import Outcome
from ops.target import Target
from ops.watch import dead_letters, queue_depth


class Timeline:
    """Samples a target's queues on a thread from `with` until its end; `count` is the send's outcome hook."""

    def __init__(self, target: Target, started: float, every: float) -> None:
        self.target, self.started, self.every = target, started, every
        self.samples: list[dict[str, Any]] = []
        self.accepted = 0
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="timeline", daemon=True)
        self._error: BaseException | None = None

    def count(self, outcome: Outcome) -> None:
        if outcome.category == "accepted":
            with self._lock:
                self.accepted += 1

    def sample(self) -> dict[str, Any]:
        """The queues now: per service, its queue and each DLQ ("dlq", "subscription"), visible or in flight."""
        sqs = self.target.client("sqs")
        services = {service.name: {"queue": sum(queue_depth(sqs, service.queue_url)),
                                   **{kind: dead_letters(sqs, url) for kind, url in service.dead_letter_queues}}
                    for service in self.target.services}
        with self._lock:
            accepted = self.accepted
        return {"seconds": round(time.monotonic() - self.started, 1), "accepted": accepted, "services": services}

    def _run(self) -> None:
        due = self.started
        try:
            while not self._stop.wait(max(0.0, due - time.monotonic())):
                self.samples.append(self.sample())
                due += self.every
        except BaseException as error:  # reported by __exit__, in the bench's own thread
            self._error = error

    def __enter__(self) -> Timeline:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._error is not None and exc_info[0] is None:
            raise RuntimeError(f"the timeline's sampler failed: {self._error!r}") from self._error
        if exc_info[0] is None:
            self.samples.append(self.sample())  # the end of the run: every queue drained

    def as_dict(self) -> dict[str, Any]:
        return {"every_seconds": self.every, "samples": self.samples}
