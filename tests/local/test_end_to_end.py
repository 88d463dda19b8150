"""The synthesized stack on the local cloud: routing, retries, the DLQ, duplicates, poison."""

from __future__ import annotations

import json
import uuid

from ops.target import target_from_endpoints
from ops.watch import snapshot
from tests.factories import ORDINARY_RIDE, SAMPLE_RIDE
from tests.local.conftest import effect_ids, post_ride, wait_for

ALL = ("CustomerNotification", "CustomerAccounting", "ExtraordinaryRides")


def reached(cloud, ride_id: str) -> set[str]:
    return {service for service in ALL if ride_id in effect_ids(cloud, service)}


def test_sample_ride_reaches_all_three_services(local_cloud):
    status, answer = post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)
    assert status == 201
    assert wait_for(lambda: reached(local_cloud, answer["id"]) == set(ALL), what="three effects")


def test_ordinary_ride_reaches_two_services_only(local_cloud):
    status, answer = post_ride(local_cloud.outputs["ApiUrl"], ORDINARY_RIDE)
    assert status == 201
    wait_for(lambda: reached(local_cloud, answer["id"]) == {"CustomerNotification", "CustomerAccounting"},
             what="two effects")
    assert answer["id"] not in local_cloud.snapshot("ExtraordinaryRides").ride_ids  # filtered out by SNS


def test_invalid_ride_is_rejected_and_never_published(local_cloud):
    before = {s: set(local_cloud.snapshot(s).received) for s in ALL}
    status, answer = post_ride(local_cloud.outputs["ApiUrl"], {**SAMPLE_RIDE, "fare": "a lot"})
    assert status == 400 and answer["errors"][0]["field"] == "fare"
    status, _ = post_ride(local_cloud.api_url + "/no-such-path", SAMPLE_RIDE)
    assert status == 403
    assert {s: set(local_cloud.snapshot(s).received) for s in ALL} == before


def test_a_ride_published_twice_has_one_effect_per_service(local_cloud):
    sns = local_cloud.clients.client("sns")
    ride = {**SAMPLE_RIDE, "id": f"dup-{uuid.uuid4()}", "customer": f"dup-{uuid.uuid4()}"}  # a new account
    for _ in range(2):
        sns.publish(TopicArn=local_cloud.outputs["RideCompletionTopicArn"], Message=json.dumps(ride),
                    MessageAttributes={"fare": {"DataType": "Number", "StringValue": str(ride["fare"])},
                                       "distance": {"DataType": "Number", "StringValue": str(ride["distance"])}})
    def deliveries() -> int:
        seen = local_cloud.snapshot("CustomerAccounting")
        return len({m for m, r in seen.message_rides.items() if r == ride["id"]} & seen.deleted)

    wait_for(lambda: deliveries() == 2, what="2 deliveries")
    wait_for(lambda: reached(local_cloud, ride["id"]) == set(ALL), what="effects")
    table = local_cloud.outputs["CustomerAccountingTableName"]
    dynamodb = local_cloud.clients.client("dynamodb")
    items = dynamodb.scan(TableName=table)["Items"]
    assert sum(item["rideId"]["S"] == ride["id"] for item in items) == 1
    # the account is a sum: a second delivery that got past the ledger's condition would charge twice
    account = dynamodb.get_item(TableName=local_cloud.outputs["CustomerAccountingAccountsTableName"],
                                Key={"customer": {"S": ride["customer"]}}, ConsistentRead=True)["Item"]
    assert (account["balance"]["N"], account["rides"]["N"]) == ("256.5", "1")


def test_poison_message_reaches_the_dlq_after_exactly_max_receive_count(local_cloud):
    sqs = local_cloud.clients.client("sqs")
    message_id = sqs.send_message(QueueUrl=local_cloud.outputs["CustomerAccountingQueueUrl"],
                                  MessageBody="not a ride")["MessageId"]
    dlq = local_cloud.outputs["CustomerAccountingDlqUrl"]

    def in_dlq():
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                       MessageSystemAttributeNames=["All"]).get("Messages", [])
        return [m for m in messages if m["Body"] == "not a ride"]

    assert len(wait_for(in_dlq, what="the poison message in the DLQ")) == 1
    seen = local_cloud.snapshot("CustomerAccounting")
    assert seen.mapping.max_receive_count == 5  # from the template (cdk.json default)
    assert seen.received[message_id] == seen.mapping.max_receive_count
    assert message_id not in seen.deleted


def test_lambda_and_queue_metrics_reach_cloudwatch_as_on_aws(local_cloud):
    # Given rides processed by the consumers
    for _ in range(3):
        assert post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)[0] == 201
    target = target_from_endpoints(local_cloud.endpoints())

    # Then `wildrydes watch` finds what Lambda and SQS publish on AWS: invocations, concurrency, oldest age
    def published() -> list:
        rows = snapshot(target).services
        return rows if all(r.invocations and r.concurrency and r.oldest_age_seconds is not None for r in rows) else []

    rows = wait_for(published, timeout=30, what="the metrics of every service")
    assert all(r.concurrency <= local_cloud.mapping(r.service).max_concurrency for r in rows)
