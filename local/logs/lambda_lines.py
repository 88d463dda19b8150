"""What Lambda itself writes to a function's log group: the stream of each execution environment and the
platform lines around each invocation, in the function's log format (LoggingConfig.LogFormat).

Lambda Developer Guide, "Working with Lambda function logs" / "Configuring JSON and plain text log
formats": each execution environment writes to a stream of its own, named `YYYY/MM/DD/[$LATEST]<32 hex>`
(the date it started, UTC). In plain text each invocation is framed by

    START RequestId: <id> Version: $LATEST
    END RequestId: <id>
    REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 90 MB\t

(`Init Duration` after a cold start; `Status: timeout` and the "Task timed out" line when it timed out;
`Status: error` with `Runtime.ExitError` when the process died). With JSON and a SystemLogLevel of WARN,
Lambda writes no platform lines at all (they are INFO).
In JSON the same are `platform.start` and `platform.report` objects, and there is no END line. Since
August 2025 the init of an on-demand function is billed, so a cold start's Billed Duration includes it.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

Event = tuple[int, str]  # (timestamp in ms since the epoch, message)


def stream_name(started: datetime | None = None, version: str = "$LATEST") -> str:
    """A new execution environment's log stream."""
    day = (started or datetime.now(UTC)).astimezone(UTC).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{secrets.token_hex(16)}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass(frozen=True)
class Report:
    request_id: str
    started_ms: int
    duration_ms: float
    memory_mb: int
    max_memory_mb: int
    init_ms: float | None = None  # a cold start's
    timed_out_after: float | None = None  # seconds, when the invocation timed out
    ended_ms: int | None = None  # when the runtime answered (default: start + duration)
    exited: bool = False  # the process died during the invocation (Runtime.ExitError)


def start(request_id: str, at_ms: int, json_format: bool) -> Event:
    if json_format:
        return at_ms, json.dumps({"time": _iso(at_ms), "type": "platform.start",
                                  "record": {"requestId": request_id, "version": "$LATEST"}})
    return at_ms, f"START RequestId: {request_id} Version: $LATEST"


def finish(report: Report, json_format: bool) -> list[Event]:
    """The lines after the function's own: the timeout (if any), END (text only) and REPORT."""
    r = report
    at = r.ended_ms or r.started_ms + int(r.duration_ms)
    billed = math.ceil(r.duration_ms + (r.init_ms or 0))
    status = "timeout" if r.timed_out_after is not None else "error" if r.exited else "success"
    lines: list[Event] = []
    if r.timed_out_after is not None:
        lines.append((at, f"{_iso(at)} {r.request_id} Task timed out after {r.timed_out_after:.2f} seconds"))
    if r.exited:
        lines.append((at, f"RequestId: {r.request_id} Error: Runtime exited with error: signal: killed"))
    if json_format:
        metrics: dict[str, float | int] = {"durationMs": round(r.duration_ms, 2), "billedDurationMs": billed,
                                           "memorySizeMB": r.memory_mb, "maxMemoryUsedMB": r.max_memory_mb}
        if r.init_ms is not None:
            metrics["initDurationMs"] = round(r.init_ms, 2)
        record: dict[str, object] = {"requestId": r.request_id, "metrics": metrics, "status": status}
        if r.exited:
            record["errorType"] = "Runtime.ExitError"
        lines.append((at, json.dumps({"time": _iso(at), "type": "platform.report", "record": record})))
        return lines
    report_line = (f"REPORT RequestId: {r.request_id}\tDuration: {r.duration_ms:.2f} ms\tBilled Duration: {billed} ms"
                   f"\tMemory Size: {r.memory_mb} MB\tMax Memory Used: {r.max_memory_mb} MB\t")
    if r.init_ms is not None:
        report_line += f"Init Duration: {r.init_ms:.2f} ms\t"
    if r.timed_out_after is not None:
        report_line += "Status: timeout"
    if r.exited:
        report_line += "Status: error\tError Type: Runtime.ExitError"
    return [*lines, (at, f"END RequestId: {r.request_id}"), (at, report_line)]


def invocation(report: Report, lines: list[Event], *, json_format: bool, system_level: str = "") -> list[Event]:
    """An invocation's events: START, the function's own lines, then the closing lines."""
    if json_format and system_level == "WARN":
        return lines
    return [start(report.request_id, report.started_ms, json_format), *lines, *finish(report, json_format)]
