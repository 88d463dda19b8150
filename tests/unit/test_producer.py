"""SubmitRideCompletion on moto: 201 means stored AND published; failures lose nothing."""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.factories import HOSTILE_BODIES, SAMPLE_RIDE, WORKSHOP_EVENT, LambdaContext, api_event

TABLE = "Rides"


@pytest.fixture
def cloud(aws, monkeypatch):
    """Rides table, ride topic and a raw-delivery queue that sees what the topic publishes."""
    return build_cloud(monkeypatch)


@pytest.fixture
def fifo_cloud(aws, monkeypatch):
    """The same with an SNS FIFO topic and an SQS FIFO queue (ordering "fifo")."""
    return build_cloud(monkeypatch, fifo=True)


def build_cloud(monkeypatch: pytest.MonkeyPatch, fifo: bool = False) -> Any:
    dynamodb, sns, sqs = boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sqs")
    dynamodb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    suffix, fifo_attributes = (".fifo", {"FifoTopic": "true"}) if fifo else ("", {})
    topic_name = f"RideCompletionTopic{suffix}"
    topic_arn = sns.create_topic(Name=topic_name, Attributes=fifo_attributes)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"observer{suffix}",
                                 Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]

    def subscribe() -> None:
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})

    subscribe()
    monkeypatch.setenv("RIDES_TABLE_NAME", TABLE)
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    handler = importlib.reload(importlib.import_module("unicorn_management.handler"))

    class Cloud:
        def post(self, body: Any, headers: dict[str, str] | None = None, base64_body: bool = False) -> tuple:
            event = api_event(body, headers)
            if base64_body:
                event["body"] = base64.b64encode(event["body"].encode()).decode()
                event["isBase64Encoded"] = True
            response = handler.lambda_handler(event, LambdaContext())
            self.headers = response["headers"]
            return response["statusCode"], json.loads(response["body"])

        def rides(self) -> list[dict[str, Any]]:
            return boto3.resource("dynamodb").Table(TABLE).scan()["Items"]

        def published(self) -> list[dict[str, Any]]:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"])
            return messages.get("Messages", [])

        def delete_topic(self) -> None:
            sns.delete_topic(TopicArn=topic_arn)

        def restore_topic(self) -> None:
            sns.create_topic(Name=topic_name, Attributes=fifo_attributes)
            subscribe()

        def delete_table(self) -> None:
            dynamodb.delete_table(TableName=TABLE)

    return Cloud()


def test_valid_ride_is_stored_published_and_answered_201(cloud):
    status, body = cloud.post(SAMPLE_RIDE)
    assert status == 201 and set(body) == {"id"}
    [item] = cloud.rides()
    assert item["id"] == body["id"] and item["status"] == "PUBLISHED" and item["from"] == "Berlin"
    [message] = cloud.published()
    assert json.loads(message["Body"]) == {**SAMPLE_RIDE, "id": body["id"]}
    assert message["MessageAttributes"]["fare"] == {"DataType": "Number", "StringValue": "256.5"}
    assert message["MessageAttributes"]["distance"]["DataType"] == "Number"


def test_on_a_fifo_topic_a_ride_goes_to_its_customers_group_deduplicated_on_its_id(fifo_cloud):
    status, body = fifo_cloud.post(SAMPLE_RIDE)
    assert status == 201
    [message] = fifo_cloud.published()
    group = hashlib.sha256(SAMPLE_RIDE["customer"].encode()).hexdigest()
    assert message["Attributes"]["MessageGroupId"] == group
    assert message["Attributes"]["MessageDeduplicationId"] == body["id"]
    [item] = fifo_cloud.rides()
    assert item["status"] == "PUBLISHED" and item["publishedAt"] > 0


@pytest.mark.parametrize(("body", "field"), [
    ("{oops", "body"), ({**SAMPLE_RIDE, "fare": -5}, "fare"), ({"from": "A"}, "to"),
    ({**SAMPLE_RIDE, "extra": 1}, "extra"), (json.dumps({**SAMPLE_RIDE, "pad": "x" * 300_000}), "body"),
])
def test_invalid_ride_is_400_naming_the_field_and_nothing_is_stored_or_published(cloud, body, field):
    status, answer = cloud.post(body)
    assert status == 400
    assert field in {e["field"] for e in answer["errors"]}
    assert cloud.rides() == [] and cloud.published() == []


def test_hostile_bodies_are_400_naming_the_field_never_a_crash(cloud):
    # Given bodies that made the handler raise (a 502) or slipped through before
    for body, field, fragment in HOSTILE_BODIES:
        # When each is posted, Then the answer is a 400 that names the field and the reason
        status, answer = cloud.post(body)
        assert status == 400, (body[:80], answer)
        assert any(e["field"] == field and fragment in e["message"] for e in answer["errors"]), answer
    # and nothing was stored or published
    assert cloud.rides() == [] and cloud.published() == []


def test_the_workshop_event_is_stored_and_published_with_numbers(cloud):
    status, _ = cloud.post(WORKSHOP_EVENT)
    assert status == 201
    [item] = cloud.rides()
    assert (item["duration"], item["distance"], item["fare"]) == (3000, 1200, Decimal("899.99"))
    [message] = cloud.published()
    published = json.loads(message["Body"])
    assert (published["duration"], published["distance"], published["fare"]) == (3000, 1200, 899.99)
    assert message["MessageAttributes"]["fare"] == {"DataType": "Number", "StringValue": "899.99"}


def test_a_ride_left_pending_is_counted_in_a_metric(cloud, capsys):
    from unicorn_management.logic import RIDES_LEFT_PENDING_METRIC

    cloud.delete_topic()
    status, _ = cloud.post(SAMPLE_RIDE)
    assert status == 503
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m[RIDES_LEFT_PENDING_METRIC] for m in emitted if RIDES_LEFT_PENDING_METRIC in m] == [[1.0]], emitted


def test_base64_encoded_body_is_decoded(cloud):
    status, _ = cloud.post(SAMPLE_RIDE, base64_body=True)
    assert status == 201 and len(cloud.published()) == 1


def test_publish_failure_is_503_and_the_ride_waits_pending_for_a_retry(cloud):
    # Given the topic is gone (SNS answers NotFound)
    cloud.delete_topic()
    key = {"Idempotency-Key": "ride-42"}
    # When a ride is submitted
    status, answer = cloud.post(SAMPLE_RIDE, key)
    # Then the client is told to retry, and the ride is recorded as not yet published
    assert status == 503 and "retry" in answer["message"]
    assert cloud.headers["Retry-After"] == "1"
    [item] = cloud.rides()
    assert item["status"] == "PENDING" and item["id"] == answer["id"]
    # When the topic is back and the client retries with the same key
    cloud.restore_topic()
    status, retried = cloud.post(SAMPLE_RIDE, key)
    # Then the same ride is published once and answered 201
    assert status == 201 and retried["id"] == answer["id"]
    assert [i["status"] for i in cloud.rides()] == ["PUBLISHED"]
    assert len(cloud.published()) == 1


def test_repeated_request_with_the_same_key_publishes_once(cloud):
    first = cloud.post(SAMPLE_RIDE, {"idempotency-key": "abc"})
    second = cloud.post(SAMPLE_RIDE, {"Idempotency-Key": "abc"})
    assert first == second and first[0] == 201
    assert len(cloud.rides()) == 1 and len(cloud.published()) == 1


def test_same_key_for_a_different_ride_is_409(cloud):
    cloud.post(SAMPLE_RIDE, {"Idempotency-Key": "abc"})
    status, answer = cloud.post({**SAMPLE_RIDE, "fare": 1}, {"Idempotency-Key": "abc"})
    assert status == 409 and "different ride" in answer["message"]
    assert len(cloud.published()) == 1


def test_bad_idempotency_key_is_400(cloud):
    status, answer = cloud.post(SAMPLE_RIDE, {"Idempotency-Key": "x" * 200})
    assert status == 400 and answer["errors"][0]["field"] == "Idempotency-Key"
    assert cloud.rides() == []


def test_store_failure_is_503_and_nothing_is_published(cloud):
    cloud.delete_table()
    status, answer = cloud.post(SAMPLE_RIDE)
    assert status == 503 and "nothing was recorded" in answer["message"]
    assert cloud.headers["Retry-After"] == "1"
    assert cloud.published() == []


def test_without_a_key_each_request_is_a_new_ride(cloud):
    first, second = cloud.post(SAMPLE_RIDE), cloud.post(SAMPLE_RIDE)
    assert first[1]["id"] != second[1]["id"]
    assert len(cloud.published()) == 2


def test_missing_environment_fails_at_import_with_a_clear_error(monkeypatch):
    monkeypatch.delenv("RIDES_TABLE_NAME", raising=False)
    with pytest.raises(RuntimeError, match="RIDES_TABLE_NAME is not set"):
        importlib.reload(importlib.import_module("unicorn_management.handler"))
