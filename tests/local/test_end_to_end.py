"""The synthesized stack on the local cloud: routing, retries, the DLQ, duplicates, poison."""

from __future__ import annotations

import json
import time
import uuid

from ops.target import target_from_endpoints
from ops.watch import snapshot
from tests.factories import ORDINARY_RIDE, SAMPLE_RIDE
from tests.local.conftest import effect_ids, post_ride, wait_for

ALL = ("CustomerNotification", "CustomerAccounting", "ExtraordinaryRides")


def reached(cloud, ride_id: str) -> set[str]:
    return {service for service in ALL if ride_id in effect_ids(cloud, service)}


def depth(cloud, url_output: str) -> int:
    """Messages in a queue, waiting or in flight."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = cloud.clients.client("sqs").get_queue_attributes(QueueUrl=cloud.outputs[url_output], AttributeNames=names)
    return sum(int(found["Attributes"][name]) for name in names)


def dlq_depths(cloud) -> dict[str, int]:
    return {service: depth(cloud, f"{service}DlqUrl") for service in ALL}


def settle(cloud) -> None:
    """Wait until every service's queue is empty twice half a second apart: by then every delivery, a wrong one
    too, has been received and either handled or sent to its DLQ (SNS delivers before the producer answers)."""
    def drained() -> bool:
        if any(depth(cloud, f"{service}QueueUrl") for service in ALL):
            return False
        time.sleep(0.5)
        return not any(depth(cloud, f"{service}QueueUrl") for service in ALL)

    wait_for(drained, what="every queue to drain")


def test_sample_ride_reaches_all_three_services(local_cloud):
    status, answer = post_ride(local_cloud.outputs["ApiUrl"], SAMPLE_RIDE)
    assert status == 201
    assert wait_for(lambda: reached(local_cloud, answer["id"]) == set(ALL), what="three effects")


def test_ordinary_ride_reaches_two_services_only(local_cloud):
    """An ordinary ride is filtered out by SNS for ExtraordinaryRides: checked once every queue has drained,
    so a wrong delivery would by then be in its poller's counts, its table or its DLQ."""
    dlqs = dlq_depths(local_cloud)
    status, answer = post_ride(local_cloud.outputs["ApiUrl"], ORDINARY_RIDE)
    assert status == 201
    wait_for(lambda: reached(local_cloud, answer["id"]) == {"CustomerNotification", "CustomerAccounting"},
             what="two effects")
    settle(local_cloud)
    assert reached(local_cloud, answer["id"]) == {"CustomerNotification", "CustomerAccounting"}
    assert answer["id"] not in local_cloud.snapshot("ExtraordinaryRides").ride_ids  # filtered out by SNS
    assert dlq_depths(local_cloud) == dlqs


def test_invalid_ride_is_rejected_and_never_published(local_cloud):
    """A 400 and a 403 publish nothing: checked once every queue has drained, so a message published anyway
    would by then have been received by a poller and be in its counts, or in a DLQ."""
    settle(local_cloud)  # what earlier tests sent is handled first
    before = {s: set(local_cloud.snapshot(s).received) for s in ALL}
    dlqs, effects = dlq_depths(local_cloud), {s: effect_ids(local_cloud, s) for s in ALL}
    status, answer = post_ride(local_cloud.outputs["ApiUrl"], {**SAMPLE_RIDE, "fare": "a lot"})
    assert status == 400 and answer["errors"][0]["field"] == "fare"
    status, _ = post_ride(local_cloud.api_url + "/no-such-path", SAMPLE_RIDE)
    assert status == 403
    settle(local_cloud)
    assert {s: set(local_cloud.snapshot(s).received) for s in ALL} == before
    assert dlq_depths(local_cloud) == dlqs
    assert {s: effect_ids(local_cloud, s) for s in ALL} == effects


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
    # for each of the three services, not merely for those that have rows
    def published() -> list:
        rows = snapshot(target).services
        complete = {r.service for r in rows} == set(ALL)
        return rows if complete and all(r.invocations and r.concurrency and r.oldest_age_seconds is not None
                                        for r in rows) else []

    rows = wait_for(published, timeout=30, what="the metrics of every service")
    assert sorted(r.service for r in rows) == sorted(ALL)
    assert all(r.concurrency <= local_cloud.mapping(r.service).max_concurrency for r in rows)
