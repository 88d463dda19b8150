"""FilterLogEvents as CloudWatch Logs answers it, in place of moto 5.2's (installed by local/moto_patches.py).

What moto does differently, and what `aws logs tail` (AWS CLI v2: FilterLogEvents with logGroupName,
startTime, filterPattern, logStreamNames or logStreamNamePrefix, paginated by nextToken) runs into:
- it answers every event for a filter pattern it does not understand (local/logs/filter_patterns.py);
- it ignores `logStreamNamePrefix` and `logGroupIdentifier`;
- it returns events stream by stream unless `interleaved` is set; AWS has ignored that flag since 2019 and
  always interleaves: events come in time order across the group's streams.
"""

from __future__ import annotations

import json
from typing import Any

from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
from moto.logs.responses import LogsResponse

from local.logs.filter_patterns import UnsupportedPattern, compile_pattern

MAX_LIMIT = 10_000
_original: dict[str, Any] = {}


def filter_events(backend: Any, group_name: str, *, stream_names: list[str] | None = None,
                  stream_prefix: str | None = None, start_time: int | None = None, end_time: int | None = None,
                  pattern: str | None = None, limit: int | None = None,
                  next_token: str | None = None) -> dict[str, Any]:
    group = backend.groups.get(group_name)
    if group is None:
        raise ResourceNotFoundException("The specified log group does not exist.")
    if stream_names and stream_prefix:
        raise InvalidParameterException("Cannot specify both logStreamNames and logStreamNamePrefix")
    if limit is not None and not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidParameterException(constraint=f"Member must have value less than or equal to {MAX_LIMIT}",
                                        parameter="limit", value=limit)
    try:
        matches = compile_pattern(pattern)
    except (UnsupportedPattern, ValueError) as error:
        raise InvalidParameterException(f"Invalid filter pattern: {error}") from None
    streams = [s for name, s in list(group.streams.items())
               if (not stream_names or name in stream_names) and (not stream_prefix or name.startswith(stream_prefix))]
    found = []
    for stream in streams:
        for event in list(stream.events):
            if (start_time and event.timestamp < start_time) or (end_time and event.timestamp > end_time):
                continue
            if matches(event.message):
                found.append((event.timestamp, event.event_id, stream.log_stream_name, event))
    found.sort(key=lambda item: (item[0], item[1]))
    first = 0
    if next_token:
        try:
            token_group, after = next_token.rsplit("@", 1)
            first = next(i for i, item in enumerate(found) if str(item[1]) == after) + 1
            if token_group != group_name:
                raise ValueError
        except (ValueError, StopIteration):
            raise InvalidParameterException("The specified nextToken is invalid.") from None
    page = found[first:first + int(limit or MAX_LIMIT)]
    answer: dict[str, Any] = {
        "events": [{**event.to_filter_dict(), "logStreamName": stream} for _, _, stream, event in page],
        "searchedLogStreams": [{"logStreamName": s.log_stream_name, "searchedCompletely": True} for s in streams]}
    if page and first + len(page) < len(found):
        answer["nextToken"] = f"{group_name}@{page[-1][1]}"
    return answer


def _filter_log_events(self: LogsResponse) -> str:
    identifier = self._get_param("logGroupName") or self._get_param("logGroupIdentifier") or ""
    name = identifier.split(":log-group:", 1)[-1].removesuffix(":*") if identifier.startswith("arn:") else identifier
    return json.dumps(filter_events(
        self.logs_backend, name, stream_names=self._get_param("logStreamNames"),
        stream_prefix=self._get_param("logStreamNamePrefix"), start_time=self._get_param("startTime"),
        end_time=self._get_param("endTime"), pattern=self._get_param("filterPattern"),
        limit=self._get_param("limit"), next_token=self._get_param("nextToken")))


def install() -> None:
    if not _original:
        _original["filter_log_events"] = LogsResponse.filter_log_events
        LogsResponse.filter_log_events = _filter_log_events  # type: ignore[method-assign]


def uninstall() -> None:
    if _original:
        LogsResponse.filter_log_events = _original.pop("filter_log_events")  # type: ignore[method-assign]
