"""An alarm's history as CloudWatch keeps it, and DescribeAlarmHistory's answer.

moto keeps no readable history (DescribeAlarmHistory answers 500 there). CloudWatch writes three kinds of
item (API reference, AlarmHistoryItem; the texts are those the console and the CLI show):
- ConfigurationUpdate: 'Alarm "name" created' / 'Alarm "name" updated';
- StateUpdate: "Alarm updated from OK to ALARM", HistoryData {"version", "oldState", "newState"} with each
  state's value, reason and reason data;
- Action: "Successfully executed action arn:..." or "Failed to execute action arn:...", HistoryData with
  the actionState and, on failure, the error.
DescribeAlarmHistory filters by AlarmName, AlarmTypes, HistoryItemType, StartDate and EndDate, sorts by
ScanBy (TimestampDescending by default) and pages with MaxRecords (1 to 100, default 100) and NextToken.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.cloudwatch.alarm_definition import AlarmState

ITEM_TYPES = ("ConfigurationUpdate", "StateUpdate", "Action")
MAX_RECORDS = 100
KEEP_ITEMS = 10_000  # per account and region, oldest dropped first (CloudWatch keeps 30 days)


class HistoryError(ValueError):
    """A DescribeAlarmHistory parameter CloudWatch refuses: (code, message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class HistoryItem:
    alarm_name: str
    timestamp: datetime
    item_type: str
    summary: str
    data: str
    alarm_type: str = "MetricAlarm"

    def as_shape(self) -> dict[str, Any]:
        return {"AlarmName": self.alarm_name, "AlarmType": self.alarm_type, "Timestamp": self.timestamp,
                "HistoryItemType": self.item_type, "HistorySummary": self.summary, "HistoryData": self.data}


def _state(state: AlarmState) -> dict[str, Any]:
    shown: dict[str, Any] = {"stateValue": state.value, "stateReason": state.reason}
    if state.reason_data and state.reason_data != "{}":
        try:
            shown["stateReasonData"] = json.loads(state.reason_data)
        except ValueError:
            shown["stateReasonData"] = state.reason_data
    return shown


class AlarmHistory:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[HistoryItem] = []

    def _add(self, item: HistoryItem) -> HistoryItem:
        with self.lock:
            self.items.append(item)
            if len(self.items) > KEEP_ITEMS:
                del self.items[: len(self.items) - KEEP_ITEMS]
        return item

    def configuration(self, name: str, created: bool, alarm: dict[str, Any], at: datetime | None = None) -> None:
        kind = "Create" if created else "Update"
        data = {"version": "1.0", "type": kind, ("createdAlarm" if created else "updatedAlarm"): alarm}
        self._add(HistoryItem(name, at or datetime.now(UTC), "ConfigurationUpdate",
                              f'Alarm "{name}" {"created" if created else "updated"}', json.dumps(data, default=str)))

    def state_update(self, name: str, old: AlarmState, new: AlarmState, at: datetime) -> None:
        data = {"version": "1.0", "oldState": _state(old), "newState": _state(new)}
        self._add(HistoryItem(name, at, "StateUpdate", f"Alarm updated from {old.value} to {new.value}",
                              json.dumps(data)))

    def action(self, name: str, action_arn: str, state_changed: datetime, error: str | None = None,
               published: str | None = None) -> None:
        data: dict[str, Any] = {"actionState": "Failed" if error else "Succeeded",
                                "stateUpdateTimestamp": int(state_changed.timestamp() * 1000)}
        if error:
            data["error"] = error
            summary = f"Failed to execute action {action_arn}. Received error: {error}"
        else:
            data.update(notificationResource=action_arn, publishedMessage=published)
            summary = f"Successfully executed action {action_arn}"
        self._add(HistoryItem(name, datetime.now(UTC), "Action", summary, json.dumps(data)))

    def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        """DescribeAlarmHistory's result for its (parsed) parameters."""
        name, kind = params.get("AlarmName"), params.get("HistoryItemType")
        types = params.get("AlarmTypes") or ["MetricAlarm", "CompositeAlarm"]
        if kind is not None and kind not in ITEM_TYPES:
            raise HistoryError("ValidationError", f"1 validation error detected: Value '{kind}' at 'historyItemType' "
                               f"failed to satisfy constraint: Member must satisfy enum value set: "
                               f"[{', '.join(ITEM_TYPES)}]")
        records = int(params.get("MaxRecords") or MAX_RECORDS)
        if not 1 <= records <= MAX_RECORDS:
            raise HistoryError("ValidationError", f"1 validation error detected: Value '{records}' at 'maxRecords' "
                               "failed to satisfy constraint: Member must have value less than or equal to 100")
        start, end = (_moment(params.get(p)) for p in ("StartDate", "EndDate"))
        with self.lock:
            found = [i for i in self.items if (name is None or i.alarm_name == name) and i.alarm_type in types
                     and (kind is None or i.item_type == kind) and (start is None or i.timestamp >= start)
                     and (end is None or i.timestamp <= end)]
        if (params.get("ScanBy") or "TimestampDescending") == "TimestampDescending":
            found.reverse()
        offset = _offset(params.get("NextToken"))
        page = found[offset:offset + records]
        result: dict[str, Any] = {"AlarmHistoryItems": [i.as_shape() for i in page]}
        if offset + records < len(found):
            result["NextToken"] = str(offset + records)
        return result


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = str(value)
    try:
        moment = datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _offset(token: Any) -> int:
    if token is None:
        return 0
    if not str(token).isdigit():
        raise HistoryError("InvalidNextToken", "The service couldn't process your request because the "
                           "NextToken is invalid.")
    return int(token)
