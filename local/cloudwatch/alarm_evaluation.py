"""One evaluation of a single-metric CloudWatch alarm at one moment, and the texts CloudWatch writes for it.

What it emulates (CloudWatch User Guide, "Using Amazon CloudWatch alarms": "Evaluating an alarm",
"Configuring how CloudWatch alarms treat missing data", "How alarm state is evaluated when data is
missing", "Avoiding premature transitions to alarm state", "Percentile-based CloudWatch alarms and
low data samples"; API reference, PutMetricAlarm):

- Periods end at the latest whole minute (every 10 s for 10/20/30-second alarms) and slide with it:
  "at the end of minute 6, the alarm is evaluated based on the data from minutes 2 to 6". They are not
  aligned to the epoch (real StateReasonData: period 300, queryDate 06:47:38, datapoints 06:37, 06:42).
- CloudWatch retrieves an evaluation range longer than EvaluationPeriods (N). The guide leaves its
  length open ("depends on the length of the alarm period") and shows N = 3 with a range of 5: this
  module uses N + EXTRA_RANGE_PERIODS for every period.
- With N real datapoints in the range, the most recent N are evaluated, wherever they are, and
  TreatMissingData is not needed: DatapointsToAlarm (M, default N) breaching ones mean ALARM, else OK.
  With fewer, every real datapoint is evaluated and the rest are filled as TreatMissingData says:
  breaching, notBreaching; `missing` goes to INSUFFICIENT_DATA only when the whole range is missing,
  `ignore` keeps the current state then. With `missing` and `ignore` a real non-breaching datapoint
  decides like notBreaching. When every real datapoint breaches but fewer than M do, the premature-
  transition rule applies: ALARM (`missing`) once the oldest breaching datapoint is at least M
  periods old, otherwise the state is kept, so `- - - - X` waits for the next datapoint. This
  reproduces every row of the guide's two tables, whose rows contradict the rule's prose for
  `0 - X - -` (2 of 3 is OK there; see awsdocs/amazon-cloudwatch-user-guide issue 129).
- A percentile alarm with EvaluateLowSampleCountPercentile `ignore` keeps its state while an evaluated
  period has fewer samples than the percentile needs to be significant (see statistics).
- A new alarm starts INSUFFICIENT_DATA with "Unchecked: Initial alarm creation" (the definition, its
  checks and the state are in alarm_definition.py).

StateReason and StateReasonData are written as CloudWatch writes them (see formats for the sources):
"Threshold Crossed: 1 out of the last 1 datapoints [1.0 (04/12/26 13:40:00)] was greater than the
threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition)." for an alarm with DatapointsToAlarm,
"Threshold Crossed: 1 datapoint [1.0 (...)] was greater than the threshold (0.0)." for one without;
from five datapoints on, the five most recent are listed after "The most recent datapoints which
crossed the threshold:"; missing datapoints are counted as "and 2 missing datapoints were treated as
[Breaching]", and when only they carry the new state: "no datapoints were received for 1 period and 1
missing datapoint was treated as [NonBreaching]." Time is injected; nothing here reads a clock.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from local.cloudwatch.alarm_definition import (
    ALARM,
    INSUFFICIENT_DATA,
    NEW_ALARM,
    OK,
    OPERATORS,
    AlarmDefinition,
    AlarmState,
)
from local.cloudwatch.formats import counted, java_double, reason_date, region_name, timestamp, utc, was
from local.cloudwatch.statistics import Datum, fill_buckets, low_sample_threshold

FILLS_BREACH = {"breaching": True, "notBreaching": False}  # how the two filling treatments fill
EXTRA_RANGE_PERIODS = 2
LISTED_DATAPOINTS = 5


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome: the caller stores state, reason and reason_data, and acts, only when `changed`."""

    state: str
    previous: str
    changed: bool
    reason: str
    reason_data: str
    timestamp: datetime

    @property
    def as_state(self) -> AlarmState:
        return AlarmState(self.state, self.reason, self.reason_data)


class _Slot(NamedTuple):
    start: float
    value: float | None
    sample_count: float
    breaching: bool


def evaluation_step(alarm: AlarmDefinition) -> int:
    """How often CloudWatch evaluates the alarm, in seconds: every minute, every 10 s below a minute."""
    return 60 if alarm.period >= 60 else 10


def evaluate(alarm: AlarmDefinition, datapoints: Iterable[Datum], now: datetime,
             previous: AlarmState = NEW_ALARM, time_scale: float = 1.0) -> Evaluation:
    """Evaluate `alarm` at `now` over the datapoints of its metric (namespace, name, dimensions). With a
    `time_scale` below 1, periods and the evaluation step last that fraction of their real length."""
    now = utc(now)
    step, period = evaluation_step(alarm) * time_scale, alarm.period * time_scale
    end = math.floor(now.timestamp() / step) * step
    size = alarm.evaluation_periods + EXTRA_RANGE_PERIODS
    buckets = fill_buckets(datapoints, end - size * period, size, period, alarm.unit,
                           keep_samples=alarm._rank is not None)
    compare = OPERATORS[alarm.comparison_operator][0]
    slots = []  # newest first
    for index in range(size - 1, -1, -1):
        bucket = buckets[index]
        value = None if bucket is None else bucket.statistic(alarm.stat)
        slots.append(_Slot(end - (size - index) * period, value, bucket.sample_count if bucket else 0.0,
                           value is not None and compare(value, alarm.threshold)))
    used = [slot for slot in slots if slot.value is not None][:alarm.evaluation_periods]
    fills = alarm.evaluation_periods - len(used)
    state = _decide(alarm, slots, used, fills)
    if state is None or _too_few_samples(alarm, used):
        return Evaluation(previous.value, previous.value, False, previous.reason, previous.reason_data, now)
    missing = [slot for slot in slots if slot.value is None][:fills]
    if state == INSUFFICIENT_DATA:
        reason, shown = f"Insufficient Data: {counted(fills, 'datapoint')} {was(fills)} unknown.", missing
    else:
        support = [slot for slot in used if slot.breaching == (state == ALARM)]
        reason = _threshold_reason(alarm, state, used, support, fills)
        filled_alike = FILLS_BREACH.get(alarm.treat_missing_data or "") == (state == ALARM)
        shown = sorted(support + (missing if filled_alike else []), key=lambda slot: -slot.start)
    return Evaluation(state, previous.value, state != previous.value, reason,
                      _reason_data(alarm, now, used, shown), now)


def _decide(alarm: AlarmDefinition, slots: list[_Slot], used: list[_Slot], fills: int) -> str | None:
    """The new state, or None to keep the current one."""
    treat, needed = alarm.treat_missing_data or "missing", alarm.datapoints_to_alarm_or_n
    breaching = sum(slot.breaching for slot in used)
    if fills and treat == "breaching":
        breaching += fills
    elif fills and treat in ("missing", "ignore"):
        if not used:
            return INSUFFICIENT_DATA if treat == "missing" else None
        if breaching == len(used) and breaching < needed:  # only breaching datapoints, too few of them
            oldest = slots.index(used[-1]) + 1
            return ALARM if treat == "missing" and oldest >= needed else None
    return ALARM if breaching >= needed else OK


def _too_few_samples(alarm: AlarmDefinition, used: list[_Slot]) -> bool:
    if alarm._rank is None or alarm.evaluate_low_sample_count_percentile != "ignore":
        return False
    least = low_sample_threshold(alarm._rank)
    return any(slot.sample_count < least for slot in used)


def _threshold_reason(alarm: AlarmDefinition, state: str, used: list[_Slot], support: list[_Slot], fills: int) -> str:
    """Threshold Crossed: what carried the new state, the datapoints listed newest first."""
    n, m, breaching = alarm.evaluation_periods, alarm.datapoints_to_alarm_or_n, state == ALARM
    fills_breach = FILLS_BREACH.get(alarm.treat_missing_data or "") if fills else None
    missing = "" if fills_breach is None else (f" and {counted(fills, 'missing datapoint')} {was(fills)} treated as "
                                               f"[{'Breaching' if fills_breach else 'NonBreaching'}]")
    if not support:  # the filled datapoints alone carry the new state
        received = "no datapoints were" if not used else f"{counted(len(used), 'datapoint')} {was(len(used))}"
        return f"Threshold Crossed: {received} received for {counted(n, 'period')}{missing}."
    count = len(support)
    head = f"{count} out of the last {n} datapoints" if alarm.datapoints_to_alarm else counted(count, "datapoint")
    listed = ", ".join(f"{java_double(s.value or 0.0)} ({reason_date(s.start)})" for s in support[:LISTED_DATAPOINTS])
    crossed = (f"{was(count)} {'' if breaching else 'not '}{OPERATORS[alarm.comparison_operator][1]} the threshold "
               f"({java_double(alarm.threshold)}){missing}")
    if count < LISTED_DATAPOINTS:
        body = f"{head} [{listed}] {crossed}"
    else:
        body = f"{head} {crossed}. The most recent datapoints which crossed the threshold: [{listed}]"
    if alarm.datapoints_to_alarm is not None:
        needed, transition = (m, "OK -> ALARM") if breaching else (n - m + 1, "ALARM -> OK")
        body += f" (minimum {counted(needed, 'datapoint')} for {transition} transition)"
    return f"Threshold Crossed: {body}."


def _reason_data(alarm: AlarmDefinition, now: datetime, used: list[_Slot], shown: list[_Slot]) -> str:
    """StateReasonData: every evaluated value in recentDatapoints (oldest first), the datapoints the
    reason names in evaluatedDatapoints (newest first; a missing one has only its timestamp)."""
    dates = f'"queryDate":"{timestamp(now)}"' + (f',"startDate":"{timestamp(used[-1].start)}"' if used else "")
    unit = f',"unit":{json.dumps(alarm.unit)}' if alarm.unit else ""
    recent = ",".join(java_double(s.value) for s in reversed(used) if s.value is not None)
    evaluated = ",".join(
        f'{{"timestamp":"{timestamp(s.start)}"}}' if s.value is None else
        f'{{"timestamp":"{timestamp(s.start)}","sampleCount":{java_double(s.sample_count)},'
        f'"value":{java_double(s.value)}}}' for s in shown)
    return (f'{{"version":"1.0",{dates}{unit},"statistic":{json.dumps(alarm.stat)},"period":{alarm.period},'
            f'"recentDatapoints":[{recent}],"threshold":{java_double(alarm.threshold)},'
            f'"evaluatedDatapoints":[{evaluated}]}}')


def notification(alarm: AlarmDefinition, evaluation: Evaluation, region: str, account: str,
                 alarm_arn: str) -> dict[str, Any]:
    """The JSON message CloudWatch publishes to the alarm's SNS actions on a state change."""
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name, "Namespace": alarm.namespace,
        "StatisticType": "Statistic" if alarm.statistic else "ExtendedStatistic"}
    if alarm.statistic:
        trigger["Statistic"] = "SAMPLE_COUNT" if alarm.statistic == "SampleCount" else alarm.statistic.upper()
    else:
        trigger["ExtendedStatistic"] = alarm.extended_statistic
    trigger.update(Unit=alarm.unit, Dimensions=[{"value": value, "name": name} for name, value in alarm.dimensions],
                   Period=alarm.period, EvaluationPeriods=alarm.evaluation_periods)
    if alarm.datapoints_to_alarm is not None:
        trigger["DatapointsToAlarm"] = alarm.datapoints_to_alarm
    trigger.update(ComparisonOperator=alarm.comparison_operator, Threshold=float(alarm.threshold),
                   TreatMissingData=alarm.treat_missing_data or "",
                   EvaluateLowSampleCountPercentile=alarm.evaluate_low_sample_count_percentile or "")
    message: dict[str, Any] = {"AlarmName": alarm.name, "AlarmDescription": alarm.description,
                               "AWSAccountId": account}
    if alarm.configuration_updated is not None:
        message["AlarmConfigurationUpdatedTimestamp"] = timestamp(alarm.configuration_updated)
    message.update(NewStateValue=evaluation.state, NewStateReason=evaluation.reason,
                   StateChangeTime=timestamp(evaluation.timestamp), Region=region_name(region), AlarmArn=alarm_arn,
                   OldStateValue=evaluation.previous, OKActions=list(alarm.ok_actions),
                   AlarmActions=list(alarm.alarm_actions),
                   InsufficientDataActions=list(alarm.insufficient_data_actions),
                   Trigger=trigger)
    return message


def notification_subject(alarm: AlarmDefinition, evaluation: Evaluation, region: str) -> str:
    """The SNS Subject: ALARM: "name" in US East (N. Virginia)."""
    return f'{evaluation.state}: "{alarm.name}" in {region_name(region)}'
