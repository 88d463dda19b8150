"""An alarm's history and DescribeAlarmHistory's filters, order and pages (local/cloudwatch/alarm_history.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from local.cloudwatch.alarm_definition import AlarmState
from local.cloudwatch.alarm_history import AlarmHistory, HistoryError

T0 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def filled() -> AlarmHistory:
    history = AlarmHistory()
    history.configuration("depth", True, {"alarmName": "depth"}, at=T0)
    fine = AlarmState("OK", "fine", '{"version":"1.0"}')
    history.state_update("depth", AlarmState(), fine, T0 + timedelta(minutes=1))
    history.state_update("depth", AlarmState("OK", "fine"), AlarmState("ALARM", "crossed"), T0 + timedelta(minutes=2))
    history.configuration("errors", True, {"alarmName": "errors"}, at=T0 + timedelta(minutes=3))
    return history


def test_items_are_newest_first_unless_asked_and_filtered_by_alarm_type_and_dates():
    history = filled()
    summaries = [i["HistorySummary"] for i in history.describe({"AlarmName": "depth"})["AlarmHistoryItems"]]
    assert summaries == ["Alarm updated from OK to ALARM", "Alarm updated from INSUFFICIENT_DATA to OK",
                         'Alarm "depth" created']
    ascending = history.describe({"ScanBy": "TimestampAscending"})["AlarmHistoryItems"]
    assert [i["AlarmName"] for i in ascending] == ["depth", "depth", "depth", "errors"]
    updates = history.describe({"HistoryItemType": "StateUpdate", "StartDate": T0 + timedelta(seconds=90)})
    assert [i["HistorySummary"] for i in updates["AlarmHistoryItems"]] == ["Alarm updated from OK to ALARM"]
    data = json.loads(history.describe({"HistoryItemType": "StateUpdate"})["AlarmHistoryItems"][-1]["HistoryData"])
    assert data == {"version": "1.0",
                    "oldState": {"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"},
                    "newState": {"stateValue": "OK", "stateReason": "fine", "stateReasonData": {"version": "1.0"}}}
    assert history.describe({"AlarmTypes": ["CompositeAlarm"]})["AlarmHistoryItems"] == []


def test_pages_follow_next_token_to_the_end():
    history = filled()
    first = history.describe({"MaxRecords": 3})
    rest = history.describe({"MaxRecords": 3, "NextToken": first["NextToken"]})
    assert len(first["AlarmHistoryItems"]) == 3 and len(rest["AlarmHistoryItems"]) == 1 and "NextToken" not in rest


def test_actions_record_success_and_the_error_of_a_failure():
    history = AlarmHistory()
    history.action("depth", "arn:aws:sns:us-east-1:123456789012:alarms", T0, published='{"AlarmName":"depth"}')
    history.action("depth", "arn:aws:sns:us-east-1:123456789012:alarms", T0, error="no key")
    failed, done = history.describe({})["AlarmHistoryItems"]
    assert done["HistorySummary"] == "Successfully executed action arn:aws:sns:us-east-1:123456789012:alarms"
    assert failed["HistorySummary"] == ("Failed to execute action arn:aws:sns:us-east-1:123456789012:alarms. "
                                        "Received error: no key")
    assert json.loads(failed["HistoryData"])["actionState"] == "Failed"


@pytest.mark.parametrize(("params", "code"), [({"HistoryItemType": "Everything"}, "ValidationError"),
                                              ({"MaxRecords": 101}, "ValidationError"),
                                              ({"NextToken": "abc"}, "InvalidNextToken")])
def test_bad_parameters_get_cloudwatchs_errors(params, code):
    with pytest.raises(HistoryError) as refused:
        filled().describe(params)
    assert refused.value.code == code
