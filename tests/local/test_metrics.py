"""The metrics CloudWatch would have, on the local cloud: AWS/ApiGateway from the front door, AWS/SNS per
topic, AWS/SQS per queue, with the dimensions the template's alarms read; and PutMetricData's own errors
for hostile input, through boto3 against the running local CloudWatch.

One local cloud for the module; the first test owns the counts (it runs first, on a fresh cloud).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.cloud import LocalCloud
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import effect_ids, post_ride, wait_for

SERVICES = ("CustomerNotification", "CustomerAccounting", "ExtraordinaryRides")


@pytest.fixture(scope="module")
def cloud(local_cloud: LocalCloud) -> LocalCloud:
    """This module's local cloud (conftest's, one per module)."""
    return local_cloud


def total(cloud: LocalCloud, namespace: str, metric: str, statistic: str = "Sum", **dimensions: str) -> float:
    """The statistic over everything published so far (one period from an hour ago)."""
    now = datetime.now(UTC)
    points = cloud.clients.client("cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5), Period=3600,
        Statistics=[statistic])["Datapoints"]
    return sum(p[statistic] for p in points)


def alarm_dimensions(template: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    [alarm] = [r["Properties"] for r in template["Resources"].values()
               if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("MetricName") == metric]
    return list(alarm["Dimensions"])


def test_rides_count_in_the_api_topic_and_queue_metrics_as_on_aws(cloud, template_json):
    # Given 5 signed rides, 2 of them extraordinary (fare >= 50 AND distance >= 20), a ride that fails
    # validation (400 from the function) and an unsigned POST (403 from API Gateway itself)
    rides = [{**SAMPLE_RIDE, "fare": fare, "distance": distance}
             for fare, distance in ((80, 30), (60, 25), (10, 30), (80, 5), (20, 2))]
    ids = []
    for ride in rides:
        status, answer = post_ride(cloud.outputs["ApiUrl"], ride)
        assert status == 201
        ids.append(answer["id"])
    assert post_ride(cloud.outputs["ApiUrl"], {**SAMPLE_RIDE, "fare": "lots"})[0] == 400
    assert post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE, auth=None)[0] == 403
    wait_for(lambda: all(set(ids if s != "ExtraordinaryRides" else ids[:2]) <= effect_ids(cloud, s)
                         for s in SERVICES), what="every ride processed")
    queues = {s: {"QueueName": cloud.outputs[f"{s}QueueUrl"].rsplit("/", 1)[-1]} for s in SERVICES}
    delivered = {"CustomerNotification": 5, "CustomerAccounting": 5, "ExtraordinaryRides": 2}

    # When every service has published what it counted (a consumer deletes its batch after the handler returns)
    def deletes_published() -> bool:
        cloud.flush_metrics()
        return all(total(cloud, "AWS/SQS", "NumberOfMessagesDeleted", **queues[s]) >= delivered[s] for s in SERVICES)

    wait_for(deletes_published, what="the deletes published")

    # Then AWS/ApiGateway, with the dimensions of the template's API alarms: every answer counts
    [api_name, stage] = alarm_dimensions(template_json, "5XXError")
    assert api_name == {"Name": "ApiName", "Value": cloud.deployment.api_name}
    stage_resource = template_json["Resources"][stage["Value"]["Ref"]]["Properties"]
    api = {"ApiName": api_name["Value"], "Stage": stage_resource["StageName"]}
    assert total(cloud, "AWS/ApiGateway", "Count", **api) == 7
    assert total(cloud, "AWS/ApiGateway", "4XXError", **api) == 2
    assert total(cloud, "AWS/ApiGateway", "5XXError", **api) == 0
    assert total(cloud, "AWS/ApiGateway", "5XXError", "SampleCount", **api) == 7  # 0 or 1 per answer
    assert total(cloud, "AWS/ApiGateway", "Latency", "SampleCount", **api) == 7
    assert total(cloud, "AWS/ApiGateway", "IntegrationLatency", "SampleCount", **api) == 6  # not the 403
    # And AWS/SNS: 5 published, each to 2 raw subscriptions and to the filtered one for the 2 extraordinary
    topic = {"TopicName": cloud.outputs["RideCompletionTopicArn"].rsplit(":", 1)[-1]}
    assert alarm_dimensions(template_json, "NumberOfNotificationsFailed")[0]["Name"] == "TopicName"
    assert total(cloud, "AWS/SNS", "NumberOfMessagesPublished", **topic) == 5
    assert total(cloud, "AWS/SNS", "NumberOfNotificationsDelivered", **topic) == 12
    assert total(cloud, "AWS/SNS", "NumberOfNotificationsFilteredOut", **topic) == 3
    assert total(cloud, "AWS/SNS", "NumberOfNotificationsFilteredOut-MessageAttributes", **topic) == 3
    assert total(cloud, "AWS/SNS", "NumberOfNotificationsFailed", **topic) == 0
    # And AWS/SQS: what was delivered to each queue was sent, received and deleted there
    for service, queue in queues.items():
        assert total(cloud, "AWS/SQS", "NumberOfMessagesSent", **queue) == delivered[service], service
        assert total(cloud, "AWS/SQS", "SentMessageSize", "SampleCount", **queue) == delivered[service], service
        assert total(cloud, "AWS/SQS", "NumberOfMessagesReceived", **queue) >= delivered[service], service
        assert total(cloud, "AWS/SQS", "NumberOfMessagesDeleted", **queue) == delivered[service], service


def test_a_delivery_the_queue_policy_refuses_counts_as_failed_and_redriven(cloud):
    from tests.local.test_enforcement import queue_statement_removed

    # Given the extraordinary queue's policy without its statement for SNS
    service = "ExtraordinaryRides"
    topic = {"TopicName": cloud.outputs["RideCompletionTopicArn"].rsplit(":", 1)[-1]}
    before = {m: total(cloud, "AWS/SNS", m, **topic) for m in (
        "NumberOfNotificationsFailed", "NumberOfNotificationsRedrivenToDlq", "NumberOfNotificationsDelivered")}
    with queue_statement_removed(cloud, cloud.outputs[f"{service}QueueUrl"],
                                 lambda s: s.get("Principal") == {"Service": "sns.amazonaws.com"}):
        # When an extraordinary ride is submitted
        status, answer = post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)
        assert status == 201
        wait_for(lambda: answer["id"] in effect_ids(cloud, "CustomerAccounting"), what="the ride delivered elsewhere")
    cloud.flush_metrics()
    # Then its delivery to that queue failed and went to the subscription's DLQ, where it was sent
    after = {m: total(cloud, "AWS/SNS", m, **topic) for m in before}
    assert {m: after[m] - before[m] for m in before} == {
        "NumberOfNotificationsFailed": 1, "NumberOfNotificationsRedrivenToDlq": 1, "NumberOfNotificationsDelivered": 2}
    dlq = {"QueueName": cloud.outputs[f"{service}SubscriptionDlqUrl"].rsplit("/", 1)[-1]}
    assert total(cloud, "AWS/SQS", "NumberOfMessagesSent", **dlq) == 1


@pytest.mark.parametrize("datum, code, message", [
    ({"Value": math.nan}, "InvalidParameterValue", "The value NaN for parameter MetricData.member.1.Value is invalid."),
    ({"Value": math.inf}, "InvalidParameterValue",
     "The value Infinity for parameter MetricData.member.1.Value is invalid."),
    ({"Values": [1.0] * 10_000}, "InvalidParameterValue",
     "The collection MetricData.member.1.Values must not have a size greater than 150."),
    ({"Value": 1.0, "Unit": "Furlongs"}, "InvalidParameterValue", "The parameter MetricData.member.1.Unit must be a "
                                                                  "value in the set"),
    ({"Value": 1.0, "Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(1000)]}, "InvalidParameterValue",
     "The collection MetricData.member.1.Dimensions must not have a size greater than 30."),
    ({"Value": 1.0, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}},
     "InvalidParameterCombination", "The parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues "
                                    "are mutually exclusive and you have specified both."),
    ({"StatisticValues": {"SampleCount": 2, "Sum": 1, "Minimum": 3, "Maximum": 1}}, "InvalidParameterValue",
     "The parameter MetricData.member.1.StatisticValues.Maximum must be greater than "
     "MetricData.member.1.StatisticValues.Minimum."),
])
def test_hostile_put_metric_data_gets_cloudwatchs_error_and_stores_nothing(cloud, datum, code, message):
    cloudwatch = cloud.clients.client("cloudwatch")
    with pytest.raises(ClientError) as refused:
        cloudwatch.put_metric_data(Namespace="Hostile", MetricData=[{"MetricName": "m", **datum}])
    error = refused.value.response["Error"]
    assert (error["Code"], refused.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (code, 400)
    assert error["Message"].startswith(message)
    assert total(cloud, "Hostile", "m", "SampleCount") == 0


def test_callers_may_not_publish_in_an_aws_namespace_and_good_data_still_evaluates(cloud):
    cloudwatch = cloud.clients.client("cloudwatch")
    with pytest.raises(ClientError, match="The value AWS/ for parameter Namespace is invalid"):
        cloudwatch.put_metric_data(Namespace="AWS/SQS", MetricData=[{"MetricName": "NumberOfMessagesSent",
                                                                     "Value": 1e6}])
    cloudwatch.put_metric_data(Namespace="Hostile", MetricData=[{"MetricName": "ok", "Values": [1.0, 2.0],
                                                                 "Counts": [1e9, 1]}])
    assert total(cloud, "Hostile", "ok", "SampleCount") == 1e9 + 1
