"""In the AWS process: batches of log events into moto's CloudWatch Logs, and the EMF metrics among them
into its CloudWatch, calling both backends directly (no HTTP, no request parsing: the service's own work).

A group that does not exist is created, as Lambda creates `/aws/lambda/<name>` on first write (a stack's
LoggingConfig group exists already); a stream is created on first use. Events are stored as PutLogEvents
stores them (older than 14 days or over 2 hours ahead are dropped). Each event that is valid EMF
(local/logs/emf.py) becomes PutMetricData in its namespace, with the event's `_aws.Timestamp`.
`may_write(group, stream, new)`, when given, decides whether a stream's events are taken at all (Lambda
writes as the function's role: local/lambda_service/roles.py), asked for every stream of every batch, so
that a grant removed at run time takes effect within a flush.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from local.logs import emf
from local.logs.shipper import Batch


class LogIngest:
    def __init__(self, account: str, region: str, on_error: Callable[[str], None] | None = None,
                 may_write: Callable[[str, str, bool], bool] | None = None) -> None:
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.logs.models import logs_backends

        self.logs = logs_backends[account][region]
        self.cloudwatch = cloudwatch_backends[account][region]
        self.on_error, self.may_write = on_error, may_write
        self.lock = threading.Lock()  # moto's log streams are not safe for concurrent writes
        self.events = self.metrics = 0

    def ingest(self, batch: Batch) -> dict[str, int]:
        metrics: dict[str, list[dict[str, Any]]] = {}
        stored = 0
        with self.lock:
            for group, streams in batch.items():
                if group not in self.logs.groups:
                    self.logs.create_log_group(group, {})
                log_group = self.logs.groups[group]
                for stream, events in streams.items():
                    events = sorted(events, key=lambda event: event[0])  # PutLogEvents wants time order
                    if self.may_write and not self.may_write(group, stream, stream not in log_group.streams):
                        continue
                    try:
                        if stream not in log_group.streams:
                            self.logs.create_log_stream(group, stream)
                        self.logs.put_log_events(group, stream, [{"timestamp": int(t), "message": str(m)}
                                                                 for t, m in events if m])
                    except Exception as error:  # one bad stream never holds back (or repeats) the others
                        if self.on_error:
                            self.on_error(f"log events for {group} {stream} refused: {error}")
                        continue
                    stored += len(events)
                    for _, message in events:
                        for namespace, data in emf.extract(str(message)):
                            for datum in data:  # moto compares naive UTC datetimes (as it parses requests)
                                datum["Timestamp"] = datum["Timestamp"].replace(tzinfo=None)
                            metrics.setdefault(namespace, []).extend(data)
            self.events += stored
        for namespace, data in metrics.items():
            try:
                self.cloudwatch.put_metric_data(namespace, data)
                self.metrics += len(data)
            except Exception as error:  # CloudWatch refused the datum: it is dropped, as on AWS
                if self.on_error:
                    self.on_error(f"EMF metrics in {namespace} refused: {error}")
        return {"events": stored, "metrics": sum(len(d) for d in metrics.values())}
