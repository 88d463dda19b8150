"""Rides stored PENDING in the Rides table: accepted by the producer's first write, never published.

The producer stores a ride as PENDING, publishes it, then marks it PUBLISHED. If the publish fails,
the client gets a 503 and should retry (with its Idempotency-Key); a client that never retries
leaves the ride PENDING, and no subscriber ever hears of it. `pending` lists them (older than a
grace period, so a request still in flight is not taken for stranded); `republish` publishes each
as the producer would (same message, same attributes) and then marks it PUBLISHED, only if it is
still PENDING. Publishing twice is harmless: every consumer keys its effect on the ride id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from ops.traffic import ride_attributes, ride_message

PENDING, PUBLISHED = "PENDING", "PUBLISHED"
DEFAULT_MIN_AGE_SECONDS = 60  # well past the producer's timeout: nobody is about to publish it
_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class PendingRide:
    id: str
    created_at: int | None
    ride: dict[str, Any]

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at, "from": self.ride.get("from"), "to": self.ride.get("to"),
                "fare": self.ride.get("fare"), "distance": self.ride.get("distance")}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    values = {k: _deserializer.deserialize(v) for k, v in item.items()}
    return {k: (float(v) if hasattr(v, "as_tuple") else v) for k, v in values.items()}  # Decimal -> float


def status_counts(dynamodb: Any, table: str) -> dict[str, int]:
    """Rides per status in the Rides table."""
    counts: dict[str, int] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="#s",
                                                        ExpressionAttributeNames={"#s": "status"}):
        for item in page["Items"]:
            status = item.get("status", {}).get("S", "?")
            counts[status] = counts.get(status, 0) + 1
    return counts


def pending(target: Any, *, min_age_seconds: float = DEFAULT_MIN_AGE_SECONDS,
            now: float | None = None) -> list[PendingRide]:
    """PENDING rides created at least `min_age_seconds` ago, oldest first."""
    dynamodb = target.client("dynamodb")
    cutoff = (time.time() if now is None else now) - min_age_seconds
    found = []
    for page in dynamodb.get_paginator("scan").paginate(
            TableName=target.output("RidesTableName"), FilterExpression="#s = :p",
            ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":p": {"S": PENDING}}):
        for item in page["Items"]:
            ride = _plain(item)
            created = int(ride["createdAt"]) if "createdAt" in ride else None
            if created is None or created <= cutoff:
                found.append(PendingRide(id=str(ride["id"]), created_at=created, ride=ride))
    return sorted(found, key=lambda r: (r.created_at or 0, r.id))


@dataclass(frozen=True)
class Republished:
    id: str
    message_id: str | None
    marked: bool  # False: someone else marked it first (or it is gone); the publish still happened
    error: str | None = None


def republish(target: Any, rides: list[PendingRide]) -> list[Republished]:
    """Publish each ride to the topic, then mark it PUBLISHED if it is still PENDING."""
    sns, dynamodb = target.client("sns"), target.client("dynamodb")
    topic, table = target.output("RideCompletionTopicArn"), target.output("RidesTableName")
    results = []
    for ride in rides:
        try:
            message_id = sns.publish(TopicArn=topic, Message=ride_message(ride.ride),
                                     MessageAttributes=ride_attributes(ride.ride))["MessageId"]
        except ClientError as error:
            results.append(Republished(ride.id, None, False, error.response.get("Error", {}).get("Message")))
            continue
        try:
            dynamodb.update_item(
                TableName=table, Key={"id": {"S": ride.id}}, UpdateExpression="SET #s = :published, messageId = :m",
                ConditionExpression="#s = :pending", ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":published": {"S": PUBLISHED}, ":pending": {"S": PENDING},
                                           ":m": {"S": message_id}})
            results.append(Republished(ride.id, message_id, True))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            results.append(Republished(ride.id, message_id, False))
    return results
