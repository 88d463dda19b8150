"""The stack's alarms on the local cloud: evaluated on CloudWatch's (scaled) schedule, notifying the alarm
topic as cloudwatch.amazonaws.com, with history and SetAlarmState as on AWS (TIME_SCALE 0.01: a minute is
0.6 s)."""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.cloud import LocalCloud
from tests.local.conftest import aws_cli, wait_for
from tests.local.policies import key_statement_removed, topic_key, topic_statement_removed

REASON = re.compile(r"Threshold Crossed: 1 out of the last 1 datapoints \[1\.0 \(\d\d/\d\d/\d\d \d\d:\d\d:\d\d\)\] "
                    r"was greater than the threshold \(0\.0\) \(minimum 1 datapoint for OK -> ALARM transition\)\.")


def alarm_named(cloud: LocalCloud, part: str) -> dict[str, Any]:
    alarms = cloud.clients.client("cloudwatch").describe_alarms()["MetricAlarms"]
    [alarm] = [a for a in alarms if part in a["AlarmName"]]
    return alarm


def state(cloud: LocalCloud, name: str) -> str:
    return str(cloud.clients.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"])


def listening_queue(cloud: LocalCloud) -> str:
    """A temporary queue subscribed to the alarm topic, whose policy lets that topic deliver."""
    sqs, sns, topic = cloud.clients.client("sqs"), cloud.clients.client("sns"), cloud.outputs["AlarmTopicArn"]
    url = sqs.create_queue(QueueName=f"alarm-listener-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return str(url)


def notifications(cloud: LocalCloud, url: str) -> list[dict[str, Any]]:
    sqs = cloud.clients.client("sqs")
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in found:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in found]


def history(cloud: LocalCloud, name: str, **filters: Any) -> list[dict[str, Any]]:
    cloudwatch = cloud.clients.client("cloudwatch")
    return list(cloudwatch.describe_alarm_history(AlarmName=name, **filters)["AlarmHistoryItems"])


@pytest.fixture(scope="module")
def cloud(local_cloud: LocalCloud) -> LocalCloud:
    wait_for(lambda: all(a["StateValue"] == "OK" for a in
                         local_cloud.clients.client("cloudwatch").describe_alarms()["MetricAlarms"]),
             what="every alarm's first evaluation (OK: no data is treated as not breaching)")
    return local_cloud


def test_a_new_alarm_starts_in_insufficient_data_then_its_first_evaluation_decides(cloud):
    cw = cloud.clients.client("cloudwatch")
    name = f"new-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(AlarmName=name, Namespace="Test", MetricName="Fresh", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")
    first = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    # on a busy machine the first evaluation may already have run: then the alarm is in its evaluated state
    assert first["StateValue"] == "INSUFFICIENT_DATA"
    assert first["StateReason"] in {"Unchecked: Initial alarm creation", "Insufficient Data: 1 datapoint was unknown."}
    [update] = wait_for(lambda: history(cloud, name, HistoryItemType="StateUpdate"), what="the first evaluation")
    # either way the first evaluation found it as created
    assert json.loads(update["HistoryData"])["oldState"] == {"stateValue": "INSUFFICIENT_DATA",
                                                             "stateReason": "Unchecked: Initial alarm creation"}
    after = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert after["StateValue"] == "INSUFFICIENT_DATA"  # TreatMissingData missing: no data, no decision
    assert after["StateReason"] == "Insufficient Data: 1 datapoint was unknown."
    cw.delete_alarms(AlarmNames=[name])


def test_a_dead_letter_fires_its_alarm_notifies_the_topic_and_recovers_when_purged(cloud):
    alarm = alarm_named(cloud, "CustomerAccountingDeadLettersAlarm")
    name, listener = alarm["AlarmName"], listening_queue(cloud)
    sqs, dlq = cloud.clients.client("sqs"), cloud.outputs["CustomerAccountingDlqUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="poison")
    wait_for(lambda: state(cloud, name) == "ALARM", what="the DLQ alarm")
    fired = cloud.clients.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert REASON.fullmatch(fired["StateReason"]), fired["StateReason"]
    data = json.loads(fired["StateReasonData"])
    assert (data["statistic"], data["period"], data["recentDatapoints"]) == ("Maximum", 60, [1.0])
    [told] = wait_for(lambda: notifications(cloud, listener), what="the ALARM notification")
    assert (told["AlarmName"], told["NewStateValue"], told["OldStateValue"]) == (name, "ALARM", "OK")
    assert told["NewStateReason"] == fired["StateReason"]
    assert told["Trigger"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert told["Trigger"]["Dimensions"] == [{"value": dlq.rsplit("/", 1)[-1], "name": "QueueName"}]
    sqs.purge_queue(QueueUrl=dlq)
    wait_for(lambda: state(cloud, name) == "OK", what="recovery once the DLQ is empty")
    [ok] = wait_for(lambda: notifications(cloud, listener), what="the OK notification")
    assert (ok["NewStateValue"], ok["OldStateValue"]) == ("OK", "ALARM")
    kinds = [(i["HistoryItemType"], i["HistorySummary"]) for i in history(cloud, name)]
    assert kinds[:4] == [("Action", f"Successfully executed action {cloud.outputs['AlarmTopicArn']}"),
                         ("StateUpdate", "Alarm updated from ALARM to OK"),
                         ("Action", f"Successfully executed action {cloud.outputs['AlarmTopicArn']}"),
                         ("StateUpdate", "Alarm updated from OK to ALARM")]  # newest first


def test_set_alarm_state_holds_until_the_next_evaluation_and_runs_the_actions(cloud):
    name = alarm_named(cloud, "ExtraordinaryRidesErrorsAlarm")["AlarmName"]
    listener = listening_queue(cloud)
    cloud.clients.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="drill")
    told: list[dict[str, Any]] = []
    wait_for(lambda: told.extend(notifications(cloud, listener)) or len(told) >= 2, what="both notifications")
    assert [(t["NewStateValue"], t["OldStateValue"]) for t in told] == [("ALARM", "OK"), ("OK", "ALARM")]
    assert told[0]["NewStateReason"] == "drill"  # held until the next evaluation, which found no errors
    assert state(cloud, name) == "OK"
    updates = [i["HistorySummary"] for i in history(cloud, name, HistoryItemType="StateUpdate")]
    assert updates[:2] == ["Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM"]


def test_history_pages_filters_and_refuses_as_cloudwatch_does(cloud):
    name = alarm_named(cloud, "CustomerNotificationQueueDepthAlarm")["AlarmName"]
    cw = cloud.clients.client("cloudwatch")
    for state_value in ("ALARM", "OK", "ALARM", "OK"):
        cw.set_alarm_state(AlarmName=name, StateValue=state_value, StateReason="paging")
    everything = history(cloud, name)
    first = cw.describe_alarm_history(AlarmName=name, MaxRecords=2)
    rest = cw.describe_alarm_history(AlarmName=name, MaxRecords=100, NextToken=first["NextToken"])
    assert first["AlarmHistoryItems"] + rest["AlarmHistoryItems"] == everything
    times = [i["Timestamp"] for i in everything]
    assert times == sorted(times, reverse=True)
    oldest = cw.describe_alarm_history(AlarmName=name, ScanBy="TimestampAscending")["AlarmHistoryItems"][0]
    assert oldest["HistoryItemType"] == "ConfigurationUpdate" and oldest["HistorySummary"] == f'Alarm "{name}" created'
    with pytest.raises(ClientError) as refused:
        cw.describe_alarm_history(AlarmName=name, NextToken="not-a-token")
    assert refused.value.response["Error"]["Code"] == "InvalidNextToken"
    # the real AWS CLI reads it too
    listed = aws_cli(cloud, "cloudwatch", "describe-alarm-history", "--alarm-name", name,
                     "--history-item-type", "StateUpdate", "--max-items", "1")
    assert listed["AlarmHistoryItems"][0]["HistorySummary"].startswith("Alarm updated from")


def test_an_action_the_topic_policy_or_its_key_refuses_fails_and_the_history_says_why(cloud):
    topic = cloud.outputs["AlarmTopicArn"]
    name = alarm_named(cloud, "CustomerNotificationThrottlesAlarm")["AlarmName"]
    cw = cloud.clients.client("cloudwatch")

    def last_action() -> dict[str, Any]:
        return history(cloud, name, HistoryItemType="Action")[0]

    with topic_statement_removed(cloud, topic, lambda s: s.get("Sid") == "AllowCloudWatchAlarms"):
        cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="policy drill")
        failed = last_action()
    assert failed["HistorySummary"].startswith(f"Failed to execute action {topic}. Received error: User: "
                                               "cloudwatch.amazonaws.com is not authorized to perform: sns:Publish")
    assert json.loads(failed["HistoryData"])["actionState"] == "Failed"
    wait_for(lambda: state(cloud, name) == "OK", what="back to OK")
    key = topic_key(cloud, topic)
    with key_statement_removed(cloud, key, lambda s: s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}):
        cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="key drill")
        failed = last_action()
    assert failed["HistorySummary"] == (f"Failed to execute action {topic}. Received error: CloudWatch Alarms does "
                                        "not have authorization to access the SNS topic encryption key.")


def test_a_p99_alarm_on_raw_values_fires_and_hostile_data_never_stops_evaluation(cloud):
    cw, name = cloud.clients.client("cloudwatch"), f"p99-{uuid.uuid4().hex[:8]}"
    cw.put_metric_alarm(AlarmName=name, Namespace="Test", MetricName="Latency", ExtendedStatistic="p99",
                        Period=60, EvaluationPeriods=1, Threshold=100, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="notBreaching")
    for bad in ({"Value": math.nan}, {"Value": math.inf}, {"Values": [1.0] * 151}, {"Value": 1, "Unit": "Furlongs"},
                {"Value": 1, "Dimensions": [{"Name": f"d{i}", "Value": "x"} for i in range(1000)]}):
        with pytest.raises(ClientError) as refused:
            cw.put_metric_data(Namespace="Test", MetricData=[{"MetricName": "Latency", **bad}])
        assert refused.value.response["Error"]["Code"] in ("InvalidParameterValue", "InvalidParameterCombination")
    cw.put_metric_data(Namespace="Test", MetricData=[{"MetricName": "Latency", "Values": [10.0, 500.0],
                                                       "Counts": [98.0, 2.0], "Unit": "Milliseconds"}])
    wait_for(lambda: state(cloud, name) == "ALARM", what="the p99 alarm (2% of samples at 500 ms)")
    reason = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateReason"]
    assert reason.startswith("Threshold Crossed: 1 datapoint [500.0 (")
    assert "greater than the threshold (100.0)" in reason
    cw.delete_alarms(AlarmNames=[name])
