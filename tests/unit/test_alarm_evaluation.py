"""CloudWatch metric alarm evaluation, StateReason texts and SNS notifications (local/cloudwatch/alarm_evaluation.py).

Sources: CloudWatch User Guide, "Using Amazon CloudWatch alarms" (evaluating an alarm, missing data,
premature transitions, percentiles with low samples); reason texts matched against real alarm
histories, DescribeAlarms output, EventBridge events and SNS notifications published on GitHub.
The alarms are the shapes of this project's template (cdk.out/WildRydesRideCompletion.template.json).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from local.cloudwatch.alarm_definition import (
    ALARM,
    INITIAL_REASON,
    INSUFFICIENT_DATA,
    NEW_ALARM,
    OK,
    AlarmDefinition,
    AlarmState,
)
from local.cloudwatch.alarm_evaluation import evaluate, notification, notification_subject
from local.cloudwatch.statistics import Datum

NOW = datetime(2026, 12, 4, 13, 41, 2, 345000, tzinfo=UTC)  # the newest complete minute is 13:40-13:41
END = datetime(2026, 12, 4, 13, 41, tzinfo=UTC)


def template_alarm(**properties) -> AlarmDefinition:
    return AlarmDefinition.from_properties({"ComparisonOperator": "GreaterThanThreshold",
                                            "TreatMissingData": "notBreaching", **properties})


# CustomerNotificationQueueDepthAlarm: Maximum of ApproximateNumberOfMessagesVisible, 1 minute, 5 of 5 > 100
QUEUE_DEPTH = template_alarm(AlarmName="QueueDepth", Namespace="AWS/SQS",
                             MetricName="ApproximateNumberOfMessagesVisible", Statistic="Maximum",
                             Dimensions=[{"Name": "QueueName", "Value": "CustomerNotificationQueue"}],
                             Period=60, EvaluationPeriods=5, DatapointsToAlarm=5, Threshold=100)
# CustomerNotificationDeadLettersAlarm: the DLQ's depth > 0, 1 of 1
DEAD_LETTERS = replace(QUEUE_DEPTH, name="DeadLetters", evaluation_periods=1, datapoints_to_alarm=1, threshold=0,
                       dimensions=(("QueueName", "CustomerNotificationDeadLetterQueue"),))
# CustomerNotificationErrorsAlarm: Sum of the consumer's Errors > 0, 1 of 1
ERRORS = template_alarm(AlarmName="Errors", Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
                        Dimensions=[{"Name": "FunctionName", "Value": "CustomerNotificationConsumer"}],
                        EvaluationPeriods=1, DatapointsToAlarm=1, Threshold=0)
# UnicornManagementApiLatencyAlarm: p99 of the API's Latency over 5 minutes, 3 of 3 > 3000
LATENCY = template_alarm(AlarmName="ApiLatency", Namespace="AWS/ApiGateway", MetricName="Latency",
                         ExtendedStatistic="p99", Period=300, EvaluationPeriods=3, DatapointsToAlarm=3, Threshold=3000,
                         Dimensions=[{"Name": "ApiName", "Value": "WildRydesUnicornManagement"},
                                     {"Name": "Stage", "Value": "prod"}])
# MonitoringRideTopicDeliveryFailures: Sum of NumberOfNotificationsFailed > 0, 1 period, no DatapointsToAlarm
DELIVERY_FAILURES = template_alarm(AlarmName="DeliveryFailures", Namespace="AWS/SNS",
                                   MetricName="NumberOfNotificationsFailed", Statistic="Sum", Period=60,
                                   EvaluationPeriods=1, Threshold=0)


def period_start(alarm: AlarmDefinition, age: int, now: datetime = NOW) -> datetime:
    """The start of the period `age` periods back from the newest complete one (age 1)."""
    end = now.replace(second=0, microsecond=0)
    return end - timedelta(seconds=age * alarm.period)


def pattern(alarm: AlarmDefinition, marks: str, breaching: float, fine: float, now: datetime = NOW) -> list[Datum]:
    """The guide's notation, oldest first: X breaching, 0 not breaching, - missing; one value per period."""
    points = marks.split()
    return [Datum.value(period_start(alarm, len(points) - i, now) + timedelta(seconds=7),
                        breaching if mark == "X" else fine) for i, mark in enumerate(points) if mark != "-"]


RETAIN = "retain current state"
# CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data" > "How alarm state is evaluated
# when data is missing": its two tables. Evaluation Periods 3, evaluation range 5, Datapoints to Alarm 3 in the
# first table and 2 in the second; data points oldest first (0 not breaching, X breaching, - missing).
GUIDE_TABLES = [
    # (DatapointsToAlarm, data points, MISSING, IGNORE, BREACHING, NOT BREACHING)
    (3, "0 - X - X", OK, OK, OK, OK),
    (3, "0 - - - -", OK, OK, OK, OK),
    (3, "- - - - -", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    (3, "0 X X - X", ALARM, ALARM, ALARM, ALARM),
    (3, "- - X - -", ALARM, RETAIN, ALARM, OK),
    (2, "0 - X - X", ALARM, ALARM, ALARM, ALARM),
    (2, "0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    (2, "0 - X - -", OK, OK, ALARM, OK),
    (2, "- - - - 0", OK, OK, ALARM, OK),
    (2, "- - - X -", ALARM, RETAIN, ALARM, OK),
]
TABLE_COLUMNS = ("missing", "ignore", "breaching", "notBreaching")


@pytest.mark.parametrize(("datapoints_to_alarm", "marks", "treatment", "expected"), [
    (m, marks, treatment, outcome)
    for m, marks, *outcomes in GUIDE_TABLES for treatment, outcome in zip(TABLE_COLUMNS, outcomes, strict=True)])
def test_every_row_of_the_guides_missing_data_tables(datapoints_to_alarm, marks, treatment, expected):
    """Proves: M of N, the evaluation range and every TreatMissingData give the guide's outcome, from any state."""
    # Given the template's 3-of-3 p99 latency alarm, with the row's DatapointsToAlarm and treatment
    alarm = replace(LATENCY, datapoints_to_alarm=datapoints_to_alarm, treat_missing_data=treatment)
    datums = pattern(alarm, marks, breaching=3500.0, fine=120.0)
    for current in (OK, ALARM, INSUFFICIENT_DATA):
        # When it is evaluated in that state
        result = evaluate(alarm, datums, NOW, AlarmState(current, "before", "{}"))
        # Then the state is the table's, and "retain current state" keeps state and reason untouched
        wanted = current if expected == RETAIN else expected
        assert (result.state, result.changed) == (wanted, wanted != current), (current, result.reason)
        if expected == RETAIN:
            assert (result.reason, result.reason_data) == ("before", "{}")


def test_the_evaluation_range_reaches_back_past_n_periods_for_real_datapoints():
    """Proves: with gaps, the N most recent real datapoints are evaluated even when older than N periods,
    TreatMissingData is not needed then, and StateReasonData starts at the oldest of them."""
    # Given the 5-of-5 queue depth alarm and 5 breaching minutes spread over the 7-minute range: X X - X X X -
    datums = pattern(QUEUE_DEPTH, "X X - X X X -", breaching=150.0, fine=3.0)
    # When it is evaluated
    result = evaluate(QUEUE_DEPTH, datums, NOW)
    # Then it is in ALARM on those five, the oldest one 7 minutes back
    assert (result.state, result.changed) == (ALARM, True)
    assert result.reason == (
        "Threshold Crossed: 5 out of the last 5 datapoints were greater than the threshold (100.0). The most recent "
        "datapoints which crossed the threshold: [150.0 (04/12/26 13:39:00), 150.0 (04/12/26 13:38:00), "
        "150.0 (04/12/26 13:37:00), 150.0 (04/12/26 13:35:00), 150.0 (04/12/26 13:34:00)] "
        "(minimum 5 datapoints for OK -> ALARM transition).")
    data = json.loads(result.reason_data)
    assert (data["startDate"], data["recentDatapoints"]) == ("2026-12-04T13:34:00.000+0000", [150.0] * 5)


def test_a_datapoint_older_than_the_evaluation_range_is_not_evaluated():
    """Proves: the range is N + 2 periods: a sixth breaching minute 8 minutes back does not count, so one
    missing datapoint is filled (notBreaching) and the alarm stays OK."""
    # Given breaching minutes 8, 6, 4, 3 and 2 minutes back: X - X - X X X - (only four inside the range)
    datums = pattern(QUEUE_DEPTH, "X - X - X X X -", breaching=150.0, fine=3.0)
    # When it is evaluated from OK
    result = evaluate(QUEUE_DEPTH, datums, NOW, AlarmState(OK))
    # Then the filled datapoint keeps it OK, and the reason says the missing datapoint carried the state
    assert (result.state, result.changed) == (OK, False)
    assert result.reason == ("Threshold Crossed: 4 datapoints were received for 5 periods and 1 missing datapoint "
                             "was treated as [NonBreaching].")


def test_only_periods_that_have_ended_are_evaluated():
    """Proves: the current, incomplete minute is not evaluated: at 13:41:02 the newest period is 13:40-13:41."""
    # Given a dead letter in the current minute only
    datums = [Datum.value(END + timedelta(seconds=1), 3.0)]
    # When the DLQ alarm is evaluated at 13:41:02 / Then nothing is seen yet; a minute later it is
    assert evaluate(DEAD_LETTERS, datums, NOW).state == OK
    assert evaluate(DEAD_LETTERS, datums, NOW + timedelta(minutes=1)).state == ALARM


def test_periods_slide_with_the_minute_rather_than_align_to_the_epoch():
    """Proves: a 5-minute alarm's periods end at the latest whole minute; this replays a real EventBridge
    event (RDS CPU, 2 of 2 >= 10, queryDate 06:30:58.947, datapoints 06:20 and 06:25)."""
    # Given the alarm and its two datapoints
    alarm = AlarmDefinition.from_properties({
        "AlarmName": "cpu", "Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "Statistic": "Average",
        "Period": 300, "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Threshold": 10,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold"})
    now = datetime(2020, 10, 5, 6, 30, 58, 947000, tzinfo=UTC)
    datums = [Datum.value(datetime(2020, 10, 5, 6, 20, tzinfo=UTC), 10.0),
              Datum.value(datetime(2020, 10, 5, 6, 25, tzinfo=UTC), 10.25)]
    # When it is evaluated at that queryDate
    result = evaluate(alarm, datums, now, AlarmState(OK))
    # Then the reason is the one CloudWatch wrote, and so is the StateReasonData (which had no
    # evaluatedDatapoints yet in 2020)
    assert result.reason == ("Threshold Crossed: 2 out of the last 2 datapoints [10.25 (05/10/20 06:25:00), 10.0 "
                             "(05/10/20 06:20:00)] were greater than or equal to the threshold (10.0) (minimum 2 "
                             "datapoints for OK -> ALARM transition).")
    assert result.reason_data.startswith(
        '{"version":"1.0","queryDate":"2020-10-05T06:30:58.947+0000","startDate":"2020-10-05T06:20:00.000+0000",'
        '"statistic":"Average","period":300,"recentDatapoints":[10.0,10.25],"threshold":10.0,')


EMPTY_RECEIVES = AlarmDefinition.from_properties({
    "AlarmName": "empty-receives", "Namespace": "AWS/SQS", "MetricName": "NumberOfEmptyReceives", "Statistic": "Sum",
    "Period": 300, "EvaluationPeriods": 6, "Threshold": 0, "ComparisonOperator": "LessThanOrEqualToThreshold"})


@pytest.mark.parametrize(("query_date", "sums", "previous", "reason", "reason_data"), [
    ("2022-08-29T13:09:04.685", [(5, 0.0)] * 5 + [(14, 9.0)], ALARM,
     "Threshold Crossed: 1 datapoint [9.0 (29/08/22 13:04:00)] was not less than or equal to the threshold (0.0).",
     '{"version":"1.0","queryDate":"2022-08-29T13:09:04.685+0000","startDate":"2022-08-29T12:39:00.000+0000",'
     '"statistic":"Sum","period":300,"recentDatapoints":[0.0,0.0,0.0,0.0,0.0,9.0],"threshold":0.0,'
     '"evaluatedDatapoints":[{"timestamp":"2022-08-29T13:04:00.000+0000","sampleCount":14.0,"value":9.0}]}'),
    ("2022-09-29T22:10:04.689", [(5, 0.0)] * 6, OK,
     "Threshold Crossed: 6 datapoints were less than or equal to the threshold (0.0). The most recent datapoints "
     "which crossed the threshold: [0.0 (29/09/22 22:05:00), 0.0 (29/09/22 22:00:00), 0.0 (29/09/22 21:55:00), "
     "0.0 (29/09/22 21:50:00), 0.0 (29/09/22 21:45:00)].",
     '{"version":"1.0","queryDate":"2022-09-29T22:10:04.689+0000","startDate":"2022-09-29T21:40:00.000+0000",'
     '"statistic":"Sum","period":300,"recentDatapoints":[0.0,0.0,0.0,0.0,0.0,0.0],"threshold":0.0,'
     '"evaluatedDatapoints":[' + ",".join(
         f'{{"timestamp":"2022-09-29T{t}:00.000+0000","sampleCount":5.0,"value":0.0}}'
         for t in ("22:05", "22:00", "21:55", "21:50", "21:45", "21:40")) + "]}"),
])
def test_two_real_alarm_state_changes_are_replayed_exactly(query_date, sums, previous, reason, reason_data):
    """Proves: StateReason and StateReasonData match two records CloudWatch wrote (EventBridge alarm events of an
    SQS NumberOfEmptyReceives alarm, 6 periods of 5 minutes, Sum <= 0, no DatapointsToAlarm): periods sliding
    from the query minute, recentDatapoints oldest first, and evaluatedDatapoints holding only the datapoints
    the reason names, newest first."""
    # Given the six 5-minute sums before the query date, as statistic sets
    now = datetime.fromisoformat(query_date).replace(tzinfo=UTC)
    datums = [Datum.statistic_set(period_start(EMPTY_RECEIVES, 6 - i, now), count, total, 0.0, total)
              for i, (count, total) in enumerate(sums)]
    # When the alarm is evaluated then
    result = evaluate(EMPTY_RECEIVES, datums, now, AlarmState(previous))
    # Then CloudWatch's own texts come out
    assert (result.reason, result.reason_data, result.changed) == (reason, reason_data, True)


def test_premature_transition_to_alarm_is_avoided_until_the_breach_is_m_periods_old():
    """Proves: with `missing`, one breaching datapoint followed by gaps waits (- - - - X, - - - X -) and
    goes to ALARM only once it is M periods old (- - X - -); a non-breaching datapoint arriving in
    between makes it OK instead. When it leaves the range the alarm has insufficient data."""
    # Given the 3-of-3 latency alarm treating missing data as missing, and one slow period
    alarm = replace(LATENCY, treat_missing_data="missing")
    slow = [Datum.value(period_start(alarm, 1) + timedelta(seconds=30), 4000.0)]
    later = [NOW + timedelta(minutes=5 * age) for age in range(6)]
    # When it is evaluated as time passes, from a new alarm
    states, state = [], NEW_ALARM
    for moment in later:
        result = evaluate(alarm, slow, moment, state)
        state = result.as_state
        states.append(result.state)
    # Then it waits two periods, alarms in the third, and holds until the datapoint leaves the range
    assert states == [INSUFFICIENT_DATA, INSUFFICIENT_DATA, ALARM, ALARM, ALARM, INSUFFICIENT_DATA]
    assert evaluate(alarm, slow, later[2]).reason == (
        "Threshold Crossed: 1 out of the last 3 datapoints [4000.0 (04/12/26 13:36:00)] was greater than the "
        "threshold (3000.0) (minimum 3 datapoints for OK -> ALARM transition).")
    # And a fast period after the slow one (- - - X 0) makes it OK: the false positive is avoided
    fast = [*slow, Datum.value(period_start(alarm, 1, later[1]) + timedelta(seconds=30), 200.0)]
    assert evaluate(alarm, fast, later[1]).state == OK
    # And from OK, the waiting keeps OK: no transition at all
    assert evaluate(alarm, slow, NOW, AlarmState(OK)).changed is False


def test_the_older_guides_rows_for_a_lone_breaching_datapoint():
    """Proves: the 2019 guide's rows: X - - - - is ALARM with `missing`, - - - - X does not change state."""
    alarm = replace(LATENCY, treat_missing_data="missing")
    assert evaluate(alarm, pattern(alarm, "X - - - -", 3500.0, 1.0), NOW).state == ALARM
    assert evaluate(alarm, pattern(alarm, "- - - - X", 3500.0, 1.0), NOW).state == INSUFFICIENT_DATA


@pytest.mark.parametrize(("operator", "below", "at", "above", "words"), [
    ("GreaterThanOrEqualToThreshold", False, True, True, "greater than or equal to"),
    ("GreaterThanThreshold", False, False, True, "greater than"),
    ("LessThanThreshold", True, False, False, "less than"),
    ("LessThanOrEqualToThreshold", True, True, False, "less than or equal to"),
])
def test_each_comparison_operator_at_and_around_the_threshold(operator, below, at, above, words):
    """Proves: each operator's breach at threshold - 0.5, at it and + 0.5, and the words CloudWatch uses."""
    # Given a 1-of-1 queue depth alarm (threshold 100) with each operator
    alarm = replace(QUEUE_DEPTH, comparison_operator=operator, evaluation_periods=1, datapoints_to_alarm=1)
    for value, breaches in ((99.5, below), (100.0, at), (100.5, above)):
        # When the last minute's maximum is the value
        result = evaluate(alarm, [Datum.value(period_start(alarm, 1), value)], NOW)
        # Then it breaches as the operator says, and the reason names the operator (negated for OK)
        assert result.state == (ALARM if breaches else OK), value
        assert f"was {'' if breaches else 'not '}{words} the threshold (100.0)" in result.reason


DLQ_ALARM_DATA = ('{"version":"1.0","queryDate":"2026-12-04T13:41:02.345+0000","startDate":"2026-12-04T13:40:00.000'
                  '+0000","statistic":"Maximum","period":60,"recentDatapoints":[1.0],"threshold":0.0,'
                  '"evaluatedDatapoints":[{"timestamp":"2026-12-04T13:40:00.000+0000","sampleCount":1.0,"value":1.0}]}')


def test_the_exact_state_reason_and_data_of_a_dead_letter_alarm():
    """Proves: StateReason and StateReasonData are written as CloudWatch writes them, field by field."""
    # Given one message in the DLQ during 13:40
    datums = [Datum.value(datetime(2026, 12, 4, 13, 40, 20, tzinfo=UTC), 1.0)]
    # When the new DLQ alarm is evaluated at 13:41:02.345
    result = evaluate(DEAD_LETTERS, datums, NOW)
    # Then
    assert (result.previous, result.state, result.changed) == (INSUFFICIENT_DATA, ALARM, True)
    assert result.reason == ("Threshold Crossed: 1 out of the last 1 datapoints [1.0 (04/12/26 13:40:00)] was "
                             "greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).")
    assert result.reason_data == DLQ_ALARM_DATA


@pytest.mark.parametrize(("alarm", "previous", "marks", "expected"), [
    (DEAD_LETTERS, ALARM, "0", "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (04/12/26 13:40:00)] was not "
                               "greater than the threshold (0.0) (minimum 1 datapoint for ALARM -> OK transition)."),
    (DEAD_LETTERS, ALARM, "X -", "Threshold Crossed: 1 out of the last 1 datapoints [2.0 (04/12/26 13:39:00)] was "
                                 "greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition)."),
    (DEAD_LETTERS, ALARM, "- - -", "Threshold Crossed: no datapoints were received for 1 period and 1 missing "
                                   "datapoint was treated as [NonBreaching]."),
    (replace(QUEUE_DEPTH, treat_missing_data="breaching"), OK, "- - - - - - -",
     "Threshold Crossed: no datapoints were received for 5 periods and 5 missing datapoints were treated as "
     "[Breaching]."),
    (replace(QUEUE_DEPTH, treat_missing_data="missing"), OK, "- - - - - - -",
     "Insufficient Data: 5 datapoints were unknown."),
    (DELIVERY_FAILURES, OK, "X", "Threshold Crossed: 1 datapoint [2.0 (04/12/26 13:40:00)] was greater than the "
                                 "threshold (0.0)."),
    (DELIVERY_FAILURES, ALARM, "0", "Threshold Crossed: 1 datapoint [0.0 (04/12/26 13:40:00)] was not greater than "
                                    "the threshold (0.0)."),
    (LATENCY, OK, "X X X", "Threshold Crossed: 3 out of the last 3 datapoints [3002.0 (04/12/26 13:36:00), 3002.0 "
                           "(04/12/26 13:31:00), 3002.0 (04/12/26 13:26:00)] were greater than the threshold (3000.0) "
                           "(minimum 3 datapoints for OK -> ALARM transition)."),
    (LATENCY, ALARM, "X 0 X", "Threshold Crossed: 1 out of the last 3 datapoints [0.0 (04/12/26 13:31:00)] was not "
                              "greater than the threshold (3000.0) (minimum 1 datapoint for ALARM -> OK transition)."),
    (replace(LATENCY, datapoints_to_alarm=2, treat_missing_data="breaching"), OK, "- - - - X",
     "Threshold Crossed: 1 out of the last 3 datapoints [3002.0 (04/12/26 13:36:00)] was greater than the threshold "
     "(3000.0) and 2 missing datapoints were treated as [Breaching] (minimum 2 datapoints for OK -> ALARM "
     "transition)."),
    (replace(LATENCY, datapoints_to_alarm=2, treat_missing_data="breaching"), OK, "- - - - 0",
     "Threshold Crossed: 1 datapoint was received for 3 periods and 2 missing datapoints were treated as "
     "[Breaching]."),
    (replace(DELIVERY_FAILURES, evaluation_periods=6, comparison_operator="LessThanOrEqualToThreshold"), OK,
     "- 0 0 0 0 0 0", "Threshold Crossed: 6 datapoints were less than or equal to the threshold (0.0). The most "
                      "recent datapoints which crossed the threshold: [0.0 (04/12/26 13:40:00), 0.0 (04/12/26 "
                      "13:39:00), 0.0 (04/12/26 13:38:00), 0.0 (04/12/26 13:37:00), 0.0 (04/12/26 13:36:00)]."),
])
def test_the_exact_state_reasons(alarm, previous, marks, expected):
    """Proves: the StateReason wordings: M of N and plain forms, OK and ALARM, missing datapoints treated as
    [Breaching]/[NonBreaching], no datapoints received, insufficient data, the five most recent listed."""
    # Given the template's alarm and its datapoints: threshold + 2 breaching, 0.0 not
    datums = pattern(alarm, marks, breaching=alarm.threshold + 2.0, fine=0.0)
    # When it is evaluated / Then CloudWatch's reason is written
    result = evaluate(alarm, datums, NOW, AlarmState(previous))
    assert result.reason == expected
    assert result.changed == (result.state != previous)


def test_missing_datapoints_have_only_a_timestamp_in_the_state_reason_data():
    """Proves: an unknown (or filled) datapoint is listed with its timestamp alone; no startDate without data."""
    result = evaluate(replace(DEAD_LETTERS, treat_missing_data="missing"), [], NOW)
    assert (result.state, result.reason) == (INSUFFICIENT_DATA, "Insufficient Data: 1 datapoint was unknown.")
    assert result.reason_data == ('{"version":"1.0","queryDate":"2026-12-04T13:41:02.345+0000","statistic":"Maximum",'
                                  '"period":60,"recentDatapoints":[],"threshold":0.0,"evaluatedDatapoints":'
                                  '[{"timestamp":"2026-12-04T13:40:00.000+0000"}]}')
    # And missing datapoints treated as breaching are the ones an ALARM names
    breaching = evaluate(replace(QUEUE_DEPTH, treat_missing_data="breaching"), [], NOW)
    assert json.loads(breaching.reason_data)["evaluatedDatapoints"] == [
        {"timestamp": f"2026-12-04T13:{minute}:00.000+0000"} for minute in (40, 39, 38, 37, 36)]


def test_errors_summed_from_statistic_sets_and_large_numbers_as_java_writes_them():
    """Proves: the Sum of statistic sets in a minute is the datapoint (as the local Lambda metrics publish them),
    and numbers are written like Java's Double.toString (1.50785441792E10)."""
    # Given two statistic sets of errors in 13:40, and a huge queue in a second case
    errors = [Datum.statistic_set(period_start(ERRORS, 1) + timedelta(seconds=s), 3, 2.0, 0.0, 1.0) for s in (5, 35)]
    huge = [Datum.value(period_start(DEAD_LETTERS, 1), 15078544179.2)]
    # When evaluated / Then the errors add up to 4 and the huge value is in scientific notation
    assert "[4.0 (04/12/26 13:40:00)]" in evaluate(ERRORS, errors, NOW).reason
    assert "[1.50785441792E10 (04/12/26 13:40:00)]" in evaluate(DEAD_LETTERS, huge, NOW).reason


@pytest.mark.parametrize(("setting", "samples", "expected"), [
    (None, 10, ALARM),  # evaluate is the default
    ("evaluate", 10, ALARM),
    ("ignore", 10, OK),  # too few for p99: the state does not change
    ("ignore", 999, OK),
    ("ignore", 1000, ALARM),  # 10 / (1 - 0.99) samples: significant
])
def test_evaluate_low_sample_count_percentile_both_ways(setting, samples, expected):
    """Proves: with `ignore`, a p99 alarm keeps its state while a period has fewer than 1,000 samples; with
    `evaluate` (or unset) it is evaluated however few there are."""
    # Given the latency alarm in OK, and three slow 5-minute periods of `samples` requests each
    alarm = replace(LATENCY, evaluate_low_sample_count_percentile=setting)
    datums = [Datum.values(period_start(alarm, age), [5000.0], [samples], unit="Milliseconds") for age in (1, 2, 3)]
    # When evaluated
    result = evaluate(alarm, datums, NOW, AlarmState(OK, "kept"))
    # Then
    assert result.state == expected
    if expected == OK:
        assert (result.changed, result.reason) == (False, "kept")


def test_a_percentile_alarm_on_statistic_sets_has_missing_datapoints():
    """Proves: p99 of statistic sets is unavailable, so those periods are missing (filled as notBreaching)."""
    datums = [Datum.statistic_set(period_start(LATENCY, age), 50, 250000.0, 10.0, 9000.0) for age in (1, 2, 3)]
    result = evaluate(LATENCY, datums, NOW)
    assert (result.state, result.reason) == (OK, "Threshold Crossed: no datapoints were received for 3 periods and 3 "
                                                 "missing datapoints were treated as [NonBreaching].")


def test_a_new_alarm_starts_with_insufficient_data():
    """Proves: the initial state CloudWatch gives an alarm before its first evaluation."""
    assert (NEW_ALARM.value, NEW_ALARM.reason) == (INSUFFICIENT_DATA, INITIAL_REASON)
    assert INITIAL_REASON == "Unchecked: Initial alarm creation"


def test_the_sns_notification_of_a_state_change():
    """Proves: the message CloudWatch publishes to SNS, field by field, as real notifications show it."""
    # Given the DLQ alarm, created at a known time with an SNS action, gone to ALARM
    alarm = replace(DEAD_LETTERS, description="CustomerNotification: rides in the DLQ",
                    alarm_actions=("arn:aws:sns:us-east-1:123456789012:alarms",),
                    configuration_updated=datetime(2026, 12, 4, 9, 0, 1, 5000, tzinfo=UTC))
    result = evaluate(alarm, [Datum.value(period_start(alarm, 1), 1.0)], NOW)
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:DeadLetters"
    # When the notification is built
    message = notification(alarm, result, "us-east-1", "123456789012", arn)
    # Then
    assert message == {
        "AlarmName": "DeadLetters", "AlarmDescription": "CustomerNotification: rides in the DLQ",
        "AWSAccountId": "123456789012", "AlarmConfigurationUpdatedTimestamp": "2026-12-04T09:00:01.005+0000",
        "NewStateValue": "ALARM", "NewStateReason": result.reason, "StateChangeTime": "2026-12-04T13:41:02.345+0000",
        "Region": "US East (N. Virginia)", "AlarmArn": arn, "OldStateValue": "INSUFFICIENT_DATA", "OKActions": [],
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alarms"], "InsufficientDataActions": [],
        "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
                    "StatisticType": "Statistic", "Statistic": "MAXIMUM", "Unit": None,
                    "Dimensions": [{"value": "CustomerNotificationDeadLetterQueue", "name": "QueueName"}],
                    "Period": 60, "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
                    "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0.0, "TreatMissingData": "notBreaching",
                    "EvaluateLowSampleCountPercentile": ""}}
    # And in CloudWatch's order
    assert list(message) == ["AlarmName", "AlarmDescription", "AWSAccountId", "AlarmConfigurationUpdatedTimestamp",
                             "NewStateValue", "NewStateReason", "StateChangeTime", "Region", "AlarmArn",
                             "OldStateValue", "OKActions", "AlarmActions", "InsufficientDataActions", "Trigger"]
    assert list(message["Trigger"]) == [
        "MetricName", "Namespace", "StatisticType", "Statistic", "Unit", "Dimensions", "Period", "EvaluationPeriods",
        "DatapointsToAlarm", "ComparisonOperator", "Threshold", "TreatMissingData", "EvaluateLowSampleCountPercentile"]
    assert notification_subject(alarm, result, "eu-west-1") == 'ALARM: "DeadLetters" in EU (Ireland)'


def test_the_trigger_of_percentile_and_plain_alarms():
    """Proves: a percentile alarm's trigger says ExtendedStatistic, one without DatapointsToAlarm omits it,
    SampleCount is SAMPLE_COUNT, and an unset TreatMissingData is an empty string."""
    result = evaluate(LATENCY, [], NOW)
    latency = notification(LATENCY, result, "eu-west-1", "1", "arn")["Trigger"]
    assert (latency["StatisticType"], latency["ExtendedStatistic"], "Statistic" in latency) == (
        "ExtendedStatistic", "p99", False)
    plain = replace(DELIVERY_FAILURES, statistic="SampleCount", treat_missing_data=None)
    trigger = notification(plain, result, "eu-west-1", "1", "arn")["Trigger"]
    assert ("DatapointsToAlarm" in trigger, trigger["Statistic"], trigger["TreatMissingData"]) == (
        False, "SAMPLE_COUNT", "")
    assert "AlarmConfigurationUpdatedTimestamp" not in notification(plain, result, "eu-west-1", "1", "arn")


@pytest.mark.parametrize(("change", "message"), [
    ({"comparison_operator": "LessThanLowerOrGreaterThanUpperThreshold"}, "anomaly detection band"),
    ({"comparison_operator": "GreaterThan"}, "ComparisonOperator 'GreaterThan'"),
    ({"extended_statistic": "p99"}, "exactly one of Statistic and ExtendedStatistic"),
    ({"statistic": None}, "exactly one of Statistic and ExtendedStatistic"),
    ({"statistic": "Median"}, "Statistic 'Median'"),
    ({"statistic": None, "extended_statistic": "tm99"}, "not a percentile"),
    ({"period": 90}, "Period 90"),
    ({"datapoints_to_alarm": 6}, "DatapointsToAlarm"),
    ({"treat_missing_data": "breach"}, "TreatMissingData 'breach'"),
])
def test_alarms_this_evaluator_cannot_evaluate_are_refused_clearly(change, message):
    """Proves: anomaly-band operators and malformed definitions are refused with a reason, not misjudged."""
    with pytest.raises(ValueError, match=message):
        replace(QUEUE_DEPTH, **change)


def test_a_time_scale_shrinks_periods_and_the_step_but_keeps_real_timestamps():
    """Proves: under TIME_SCALE 0.01 a minute lasts 0.6 s: the 5-of-5 depth alarm fires on five breaching
    0.6 s periods (not on four), and its reason shows the datapoints' real times."""
    scale, now = 0.01, NOW.timestamp()
    end = (now // 0.6) * 0.6

    def scaled(count: int) -> list[Datum]:
        return [Datum.value(datetime.fromtimestamp(end - (age + 1) * 0.6 + 0.1, UTC), 150.0, time_scale=scale)
                for age in range(count)]

    assert evaluate(QUEUE_DEPTH, scaled(4), NOW, AlarmState(OK), time_scale=scale).state == OK
    result = evaluate(QUEUE_DEPTH, scaled(5), NOW, AlarmState(OK), time_scale=scale)
    assert (result.state, result.changed) == (ALARM, True)
    assert "150.0 (04/12/26 13:41:01)" in result.reason  # the newest period began 1.2 s after 13:41:00
    assert json.loads(result.reason_data)["period"] == 60  # the alarm's own period, as configured
