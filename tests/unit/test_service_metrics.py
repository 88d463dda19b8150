"""The metrics AWS services publish on their own, as the local cloud counts and shapes them:
AWS/ApiGateway (local/apigateway/metrics.py), AWS/SNS (local/sns/metrics.py), AWS/SQS (local/sqs/metrics.py),
and how the local CloudWatch stores Values/Counts (local/cloudwatch/put_metric_data.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import boto3
import pytest

from local.apigateway.metrics import ApiMetrics
from local.cloudwatch import put_metric_data
from local.cloudwatch.datums import distribution
from local.cloudwatch.statistics import Bucket
from local.sns.metrics import TopicMetrics
from local.sqs import metrics as sqs_metrics

T0 = datetime(2026, 4, 12, 13, 40, tzinfo=UTC)


def by_name(data: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for datum in data:
        found.setdefault(datum["MetricName"], []).append(datum)
    return found


def test_every_api_answer_counts_and_errors_are_published_as_a_rate():
    """Proves: Count is every answer; 4XXError/5XXError are 0 or 1 per answer (Average = rate); latencies are
    raw values with their counts, IntegrationLatency only for answers that reached the function."""
    # Given 3 answers from the function (201, 201, 400), a 403 and a 429 from API Gateway itself, and a 502
    metrics = ApiMetrics("WildRydesUnicornManagement", "prod")
    for status, latency, integration in ((201, 10.2, 8.0), (201, 9.8, 7.6), (400, 12, 11), (403, 1, None),
                                         (429, 0.4, None), (502, 30, 29)):
        metrics.answered(status, latency, integration)
    # When drained
    data = by_name(metrics.drain(T0))
    # Then each metric has the stage's dimensions, as the template's alarms read them
    assert {tuple((d["Name"], d["Value"]) for d in x["Dimensions"]) for v in data.values() for x in v} == {
        (("ApiName", "WildRydesUnicornManagement"), ("Stage", "prod"))}
    [count], [client], [server] = data["Count"], data["4XXError"], data["5XXError"]
    assert count["StatisticValues"] == {"SampleCount": 6, "Sum": 6, "Minimum": 1, "Maximum": 1}
    assert client["StatisticValues"] == {"SampleCount": 6, "Sum": 3, "Minimum": 0, "Maximum": 1}
    assert server["StatisticValues"] == {"SampleCount": 6, "Sum": 1, "Minimum": 0, "Maximum": 1}
    [latency], [integration] = data["Latency"], data["IntegrationLatency"]
    assert dict(zip(latency["Values"], latency["Counts"], strict=True)) == {0.0: 1, 1.0: 1, 10.0: 2, 12.0: 1, 30.0: 1}
    assert latency["Unit"] == integration["Unit"] == "Milliseconds"
    assert sum(integration["Counts"]) == 4
    # And the next drain starts afresh
    assert metrics.drain(T0) == []


def test_more_than_150_distinct_values_take_several_datums_and_keep_every_sample():
    values = Counter({float(v): 2 for v in range(400)})
    data = distribution("Latency", [], T0, "Milliseconds", values)
    assert [len(d["Values"]) for d in data] == [150, 150, 100]
    assert sum(sum(d["Counts"]) for d in data) == 800


def test_stored_values_and_counts_give_percentiles_and_moto_keeps_one_datum_not_one_per_count(aws):
    """Proves: Values/Counts stored through the local CloudWatch keep their samples (p99 computable), and a
    count of a billion is one stored datum, where moto would append a billion."""
    put_metric_data.install()
    try:
        cloudwatch, now = boto3.client("cloudwatch", region_name="us-east-1"), datetime.now(UTC)
        cloudwatch.put_metric_data(Namespace="WildRydes", MetricData=[{
            "MetricName": "Latency", "Timestamp": now, "Unit": "Milliseconds",
            "Values": [10.0, 20.0, 5000.0], "Counts": [900, 95, 5]}, {
            "MetricName": "Huge", "Timestamp": now, "Values": [1.0], "Counts": [1e9]}])
        from moto.cloudwatch.models import cloudwatch_backends

        stored = cloudwatch_backends["123456789012"]["us-east-1"].metric_data
        assert len(stored) == 2
        bucket = Bucket(T0.timestamp())
        bucket.add(put_metric_data.stored_datum(stored[0]))
        assert bucket.statistic("p99") == 20.0 and bucket.statistic("p99.9") == 5000.0
        assert bucket.sample_count == 1000
    finally:
        put_metric_data.uninstall()


def test_topic_outcomes_become_the_sns_metrics():
    metrics = TopicMetrics()
    arn = "arn:aws:sns:us-east-1:123456789012:RideTopic"
    for _ in range(3):
        metrics.published(arn, 100)
    for outcome in ("delivered", "delivered", "filtered:MessageAttributes", "failed", "redriven",
                    "filtered:NoMessageAttributes"):
        metrics.outcome(arn, outcome)
    data = by_name(metrics.drain(T0))
    sums = {name: d[0]["StatisticValues"]["Sum"] for name, d in data.items()}
    assert sums == {"NumberOfMessagesPublished": 3, "PublishSize": 300, "NumberOfNotificationsDelivered": 2,
                    "NumberOfNotificationsFilteredOut": 2, "NumberOfNotificationsFilteredOut-MessageAttributes": 1,
                    "NumberOfNotificationsFilteredOut-NoMessageAttributes": 1, "NumberOfNotificationsFailed": 1,
                    "NumberOfNotificationsRedrivenToDlq": 1}
    assert all(d[0]["Dimensions"] == [{"Name": "TopicName", "Value": "RideTopic"}] for d in data.values())
    assert metrics.drain(T0) == []


@pytest.fixture
def counted_queues(aws):
    now = [1_000_000.0]
    metrics = sqs_metrics.QueueMetrics("us-east-1", clock=lambda: now[0])
    sqs_metrics.install(metrics)
    yield metrics, boto3.client("sqs", region_name="us-east-1"), now
    sqs_metrics.uninstall()


def sqs_values(data: list[dict], queue: str) -> dict[str, float]:
    return {d["MetricName"]: d.get("Value", d.get("StatisticValues", {}).get("Sum"))
            for d in data if d["Dimensions"] == [{"Name": "QueueName", "Value": queue}]}


def test_queue_calls_are_counted_and_a_redrive_to_the_dlq_is_not_a_send(counted_queues):
    """Proves: sends (single and batch), receives, empty receives, deletes (single and batch) and sizes are
    counted per queue; a message moved to the DLQ by the redrive policy is not in the DLQ's
    NumberOfMessagesSent (as on AWS)."""
    metrics, sqs, _ = counted_queues
    # Given a queue whose DLQ takes a message after one receive
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="rides", Attributes={
        "RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "1"}}'})["QueueUrl"]
    # When 3 messages are sent (one alone, two in a batch), all received, 2 deleted, and the third received again
    sqs.send_message(QueueUrl=queue, MessageBody="x" * 10)
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "a", "MessageBody": "y" * 20},
                                                    {"Id": "b", "MessageBody": "z" * 30}])
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=got[0]["ReceiptHandle"])
    sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": "1", "ReceiptHandle": got[1]["ReceiptHandle"]}])
    assert sqs.receive_message(QueueUrl=queue).get("Messages") is None  # the third went to the DLQ
    # Then
    data = metrics.collect(T0)
    assert sqs_values(data, "rides") | {"SentMessageSize": None} == {
        "NumberOfMessagesSent": 3, "NumberOfMessagesReceived": 3, "NumberOfMessagesDeleted": 2,
        "NumberOfEmptyReceives": 1, "ApproximateNumberOfMessagesVisible": 0,
        "ApproximateNumberOfMessagesNotVisible": 0, "ApproximateNumberOfMessagesDelayed": 0,
        "ApproximateAgeOfOldestMessage": 0, "SentMessageSize": None}
    [size] = [d for d in data if d["MetricName"] == "SentMessageSize"]
    assert size["StatisticValues"] == {"SampleCount": 3, "Sum": 60, "Minimum": 10, "Maximum": 30}
    dead = sqs_values(data, "dlq")
    assert dead["ApproximateNumberOfMessagesVisible"] == 1 and dead["NumberOfMessagesSent"] == 0


def test_an_empty_queue_untouched_for_six_hours_publishes_nothing(counted_queues):
    metrics, sqs, now = counted_queues
    idle = sqs.create_queue(QueueName="idle")["QueueUrl"]
    full = sqs.create_queue(QueueName="full")["QueueUrl"]
    sqs.send_message(QueueUrl=full, MessageBody="waiting")
    assert {"idle", "full"} <= {d["Dimensions"][0]["Value"] for d in metrics.collect(T0)}
    now[0] += 6 * 3600 + 1
    assert {d["Dimensions"][0]["Value"] for d in metrics.collect(T0)} == {"full"}  # it holds a message
    sqs.receive_message(QueueUrl=idle)  # any action makes it active again
    assert {d["Dimensions"][0]["Value"] for d in metrics.collect(T0)} == {"idle", "full"}
