"""The synthesized subscriptions on a moto topic: which queues get which rides."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from shared.ride import Ride, message_attributes
from tests.factories import ORDINARY_RIDE, SAMPLE_RIDE


@pytest.fixture
def fanout(aws, template_json: dict[str, Any]):
    """One moto queue per synthesized subscription, with its raw delivery and filter policy."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name="RideCompletionTopic")["TopicArn"]
    queues: dict[str, str] = {}
    for subscription in (r["Properties"] for r in template_json["Resources"].values()
                         if r["Type"] == "AWS::SNS::Subscription"):
        queue_id = subscription["Endpoint"]["Fn::GetAtt"][0]
        url = sqs.create_queue(QueueName=queue_id)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"RawMessageDelivery": str(subscription["RawMessageDelivery"]).lower()}
        if "FilterPolicy" in subscription:
            attributes |= {"FilterPolicy": json.dumps(subscription["FilterPolicy"]),
                           "FilterPolicyScope": subscription["FilterPolicyScope"]}
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
        queues[queue_id.split("Queue")[0]] = url

    def publish(ride: dict[str, Any]) -> set[str]:
        model = Ride.model_validate({**ride, "id": "r"})
        sns.publish(TopicArn=topic_arn, Message=model.to_message(), MessageAttributes=message_attributes(model))
        received = set()
        for name, url in queues.items():
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                assert json.loads(message["Body"])["id"] == "r"  # raw delivery: the ride itself
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                received.add(name)
        return received

    return publish


ALL = {"CustomerNotification", "CustomerAccounting", "ExtraordinaryRides"}


@pytest.mark.parametrize(("ride", "expected"), [
    (SAMPLE_RIDE, ALL),
    (ORDINARY_RIDE, ALL - {"ExtraordinaryRides"}),
    ({**SAMPLE_RIDE, "fare": 50, "distance": 20}, ALL),  # both bounds inclusive
    ({**SAMPLE_RIDE, "fare": 49.99}, ALL - {"ExtraordinaryRides"}),
    ({**SAMPLE_RIDE, "distance": 19.5}, ALL - {"ExtraordinaryRides"}),
    ({**SAMPLE_RIDE, "fare": 0, "distance": 0}, ALL - {"ExtraordinaryRides"}),
])
def test_extraordinary_rides_only_get_fare_50_and_distance_20(fanout, ride, expected):
    assert fanout(ride) == expected
