"""CloudWatch's alarm service for the local cloud: every metric alarm evaluated on CloudWatch's schedule,
its state changes recorded and acted on, SetAlarmState and DescribeAlarmHistory as on AWS.

moto stores alarms in state OK ("Unchecked: Initial alarm creation") and never evaluates them. Here,
in the process that hosts moto (local/aws_process.py):
- PutMetricAlarm: a new alarm starts in INSUFFICIENT_DATA; an update keeps the alarm's state (as AWS
  does) and both are written to the history;
- PutMetricData (local/cloudwatch/put_metric_data.py): accepted data is also filed by metric
  (metric_store) for the evaluator;
- a thread evaluates every metric alarm once a minute (every 10 s for periods under a minute), scaled
  by TIME_SCALE like the periods themselves (60 s x 0.05 = 3 s), with local/cloudwatch/alarm_evaluation;
- a state change, from an evaluation or from SetAlarmState (which holds until the next evaluation),
  updates the alarm, is written to the history, and runs the new state's actions if actions are enabled
  (alarm_actions: SNS, as cloudwatch.amazonaws.com, judged);
- DescribeAlarmHistory answers from the history (alarm_history).
A failure evaluating one alarm is reported once and never stops the others.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.exceptions import CloudWatchException
from moto.cloudwatch.models import Alarm, CloudWatchBackend, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult

from local.cloudwatch.alarm_actions import ActionFailed, publish_notification
from local.cloudwatch.alarm_definition import INITIAL_REASON, INSUFFICIENT_DATA, AlarmDefinition, AlarmState
from local.cloudwatch.alarm_evaluation import (
    Evaluation,
    evaluate,
    evaluation_step,
    notification,
    notification_subject,
)
from local.cloudwatch.alarm_history import AlarmHistory, HistoryError
from local.cloudwatch.metric_store import MetricStore, metric_key
from local.iam.enforcer import Enforcer

LAG = 0.15  # of a step: evaluate a little after the minute, when the last period's data is in
_installed: dict[str, Any] = {}


class AlarmService:
    def __init__(self, enforcer: Enforcer, account: str, region: str, *, time_scale: float = 1.0,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.enforcer, self.account, self.region, self.time_scale = enforcer, account, region, time_scale
        self.on_problem = on_problem or (lambda text: None)
        self.store = MetricStore(time_scale)
        self.history = AlarmHistory()
        self.definitions: dict[int, tuple[Any, AlarmDefinition | None]] = {}  # id(alarm) -> (its config time, def)
        self.reported: set[str] = set()
        self.evaluations = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="alarms")

    @property
    def backend(self) -> CloudWatchBackend:
        return cloudwatch_backends[self.account][self.region]

    # -- the schedule ---------------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def step_seconds(self) -> float:
        """The evaluation interval in real seconds: a (scaled) minute, or 10 s if any alarm needs it."""
        periods = [a.period for a in list(self.backend.alarms.values()) if a.period]
        return (10 if any(p < 60 for p in periods) else 60) * self.time_scale

    def _run(self) -> None:
        while True:
            step = self.step_seconds()
            now = time.time()
            if self.stopping.wait((now // step + 1 + LAG) * step - now):
                return
            self.evaluate_all(datetime.now(UTC))

    def evaluate_all(self, now: datetime) -> None:
        tick = self.step_seconds()
        for alarm in list(self.backend.alarms.values()):
            try:
                self.evaluate_one(alarm, now, tick)
            except Exception as error:  # one alarm's trouble never stops the others
                self._report_once(alarm.name, f"alarm {alarm.name} was not evaluated: {error!r}")
        self.evaluations += 1

    def evaluate_one(self, alarm: Alarm, now: datetime, tick: float) -> Evaluation | None:
        """Evaluate `alarm` if its step falls at `now`; `tick` is the schedule's step (step_seconds)."""
        definition = self.definition(alarm)
        if definition is None:
            return None
        step = evaluation_step(definition) * self.time_scale
        if tick < step and int(now.timestamp() / (step / 6)) % 6:  # on the minute only
            return None
        datums = self.store.datums(metric_key(definition.namespace, definition.metric_name, definition.dimensions))
        previous = state_of(alarm)
        result = evaluate(definition, datums, now, previous, self.time_scale)
        if result.changed or (previous.reason == INITIAL_REASON and result.reason != INITIAL_REASON):
            self.change(alarm, definition, result)  # the first evaluation is recorded even with the same state
        return result

    def definition(self, alarm: Alarm) -> AlarmDefinition | None:
        known = self.definitions.get(id(alarm))
        if known is not None and known[0] is alarm.configuration_updated_timestamp:
            return known[1]
        definition = None
        if alarm.rule is not None or alarm.metric_data_queries:
            self._report_once(alarm.name, f"alarm {alarm.name}: composite and metric math alarms are not evaluated "
                              "by the local cloud; it keeps its state")
        else:
            definition = AlarmDefinition.from_properties(
                {"Namespace": alarm.namespace, "MetricName": alarm.metric_name, "Period": alarm.period,
                 "EvaluationPeriods": alarm.evaluation_periods, "Threshold": alarm.threshold,
                 "ComparisonOperator": alarm.comparison_operator, "Statistic": alarm.statistic,
                 "ExtendedStatistic": alarm.extended_statistic,
                 "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
                 "DatapointsToAlarm": alarm.datapoints_to_alarm, "TreatMissingData": alarm.treat_missing_data,
                 "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile,
                 "Unit": alarm.unit, "AlarmDescription": alarm.description, "OKActions": alarm.ok_actions,
                 "AlarmActions": alarm.alarm_actions, "InsufficientDataActions": alarm.insufficient_data_actions},
                alarm.name)
            definition = _with_configuration_time(definition, alarm.configuration_updated_timestamp)
        self.definitions[id(alarm)] = (alarm.configuration_updated_timestamp, definition)
        return definition

    # -- a state change -------------------------------------------------------------------------
    def change(self, alarm: Alarm, definition: AlarmDefinition | None, result: Evaluation) -> None:
        old = state_of(alarm)
        alarm.update_state(result.reason, result.reason_data, result.state)
        self.record(alarm, old, definition, result)

    def record(self, alarm: Alarm, old: AlarmState, definition: AlarmDefinition | None, result: Evaluation) -> None:
        """A state the alarm just took (evaluated or set): into the history, and its actions run if it changed."""
        self.history.state_update(alarm.name, old, result.as_state, result.timestamp)
        if result.changed and alarm.actions_enabled and definition is not None:
            self.act(alarm, definition, result)

    def act(self, alarm: Alarm, definition: AlarmDefinition, result: Evaluation) -> None:
        actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
                   INSUFFICIENT_DATA: alarm.insufficient_data_actions}[result.state] or []
        if not actions:
            return
        message = notification(definition, result, self.region, self.account, alarm.alarm_arn)
        text, subject = json.dumps(message), notification_subject(definition, result, self.region)
        for arn in actions:
            try:
                publish_notification(self.enforcer, self.account, self.region, alarm.alarm_arn, arn, text, subject)
            except ActionFailed as failure:
                self.history.action(alarm.name, arn, result.timestamp, error=str(failure))
                self.on_problem(f"alarm {alarm.name}: action {arn} failed: {failure}")
            else:
                self.history.action(alarm.name, arn, result.timestamp, published=text)

    def _report_once(self, key: str, text: str) -> None:
        if key not in self.reported:
            self.reported.add(key)
            self.on_problem(text)


def state_of(alarm: Alarm) -> AlarmState:
    return AlarmState(alarm.state_value, alarm.state_reason, alarm.state_reason_data)


def _with_configuration_time(definition: AlarmDefinition, at: Any) -> AlarmDefinition:
    return replace(definition, configuration_updated=at if isinstance(at, datetime) else None)


# -- moto, taught -------------------------------------------------------------------------------------
def install(service: AlarmService) -> None:
    """Route moto's CloudWatch through `service` (one per process)."""
    _installed["service"] = service
    if "originals" in _installed:
        return
    b, r = CloudWatchBackend, CloudWatchResponse
    _installed["originals"] = originals = {
        "put_metric_alarm": b.put_metric_alarm,
        "set_alarm_state": b.set_alarm_state, "describe_alarm_history": getattr(r, "describe_alarm_history", None)}

    def put_metric_alarm(self: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Alarm:
        before = self.alarms.get(name)
        alarm = originals["put_metric_alarm"](self, name, *args, **kwargs)
        if before is None:
            alarm.state_value, alarm.state_reason, alarm.state_reason_data = INSUFFICIENT_DATA, INITIAL_REASON, "{}"
        else:  # an update overwrites the configuration and keeps the state
            alarm.state_value, alarm.state_reason = before.state_value, before.state_reason
            alarm.state_reason_data, alarm.state_updated_timestamp = before.state_reason_data, \
                before.state_updated_timestamp
        _installed["service"].history.configuration(name, before is None, _described(alarm))
        return alarm

    def set_alarm_state(self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str,
                        state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        old = state_of(alarm) if alarm is not None else None
        originals["set_alarm_state"](self, alarm_name, reason, reason_data, state_value)
        if alarm is None or old is None or old.value == state_value:
            return
        service = _installed["service"]
        result = Evaluation(state_value, old.value, True, reason, reason_data or "", datetime.now(UTC))
        service.record(alarm, old, service.definition(alarm), result)

    def describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
        params = {name: self._get_param(name) for name in ("AlarmName", "AlarmTypes", "HistoryItemType",
                                                            "StartDate", "EndDate", "MaxRecords", "NextToken",
                                                            "ScanBy")}
        try:
            return ActionResult(_installed["service"].history.describe(params))
        except HistoryError as error:
            raise CloudWatchException(error.code, str(error)) from error

    b.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]
    b.set_alarm_state = set_alarm_state  # type: ignore[method-assign]
    r.describe_alarm_history = describe_alarm_history  # type: ignore[attr-defined]


def uninstall() -> None:
    originals = _installed.pop("originals", None)
    if originals:
        for name in ("put_metric_alarm", "set_alarm_state"):
            setattr(CloudWatchBackend, name, originals[name])
        if originals["describe_alarm_history"] is None:
            del CloudWatchResponse.describe_alarm_history  # type: ignore[attr-defined]
        else:
            CloudWatchResponse.describe_alarm_history = originals["describe_alarm_history"]  # type: ignore
    _installed.clear()


def _described(alarm: Alarm) -> dict[str, Any]:
    return {"alarmName": alarm.name, "metricName": alarm.metric_name, "namespace": alarm.namespace,
            "period": alarm.period, "evaluationPeriods": alarm.evaluation_periods, "threshold": alarm.threshold,
            "comparisonOperator": alarm.comparison_operator, "statistic": alarm.statistic,
            "extendedStatistic": alarm.extended_statistic, "treatMissingData": alarm.treat_missing_data}
