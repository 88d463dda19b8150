"""The unicorn management service's data access: the Rides table (reserve, mark published) and the ride topic."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from botocore.exceptions import ClientError

from shared import aws
from shared.ride import Ride, message_attributes


@dataclass(frozen=True)
class Publication:
    """What the topic answered: the message id, and on a FIFO topic the ride's sequence number (the order
    SNS took it in, increasing within the customer's message group)."""

    message_id: str
    sequence_number: str | None = None


class RideState(StrEnum):
    NEW = "NEW"  # this request stored it
    PENDING = "PENDING"  # stored earlier, publish not confirmed
    PUBLISHED = "PUBLISHED"  # stored and published earlier


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different ride."""


class RideStore(Protocol):
    def reserve(self, ride: Ride, request_hash: str) -> RideState: ...

    def mark_published(self, ride_id: str, publication: Publication) -> None: ...


class RidePublisher(Protocol):
    def publish(self, ride: Ride) -> Publication: ...


class DynamoRideStore:
    """Rides table, partition key `id`."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def reserve(self, ride: Ride, request_hash: str) -> RideState:
        table = aws.dynamodb_table(self.table_name)
        item = {**ride.to_item(), "status": RideState.PENDING.value, "requestHash": request_hash,
                "createdAt": int(time.time())}
        try:
            table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
            return RideState.NEW
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        existing: dict[str, Any] = table.get_item(Key={"id": ride.id}, ConsistentRead=True).get("Item", {})
        if existing.get("requestHash") != request_hash:
            raise IdempotencyConflict(ride.id)
        return RideState(existing["status"])

    def mark_published(self, ride_id: str, publication: Publication) -> None:
        """PUBLISHED, with the time it was (`publishedAt`, ns) and on a FIFO topic its `sequenceNumber`: the
        order a customer's rides were accepted in (ops/ride_order.py)."""
        values = {":s": RideState.PUBLISHED.value, ":m": publication.message_id, ":t": time.time_ns()}
        sequence = ""
        if publication.sequence_number:
            sequence, values[":q"] = ", sequenceNumber = :q", publication.sequence_number
        aws.dynamodb_table(self.table_name).update_item(
            Key={"id": ride_id}, UpdateExpression=f"SET #s = :s, messageId = :m, publishedAt = :t{sequence}",
            ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=values)


def message_group_id(customer: str) -> str:
    """A FIFO message group per customer. A group id is at most 128 characters of a limited alphabet and a
    customer is free text, so the group is the customer's SHA-256 (64 hex digits): same customer, same group."""
    return hashlib.sha256(customer.encode()).hexdigest()


class SnsRidePublisher:
    """Publishes to the ride topic; to a FIFO topic (`*.fifo`, as SNS names them) in the customer's message
    group, deduplicated on the ride id (a retried publish of one ride within 5 minutes is delivered once)."""

    def __init__(self, topic_arn: str) -> None:
        self.topic_arn = topic_arn
        self.fifo = topic_arn.endswith(".fifo")

    def publish(self, ride: Ride) -> Publication:
        fifo = ({"MessageGroupId": message_group_id(ride.customer), "MessageDeduplicationId": ride.id}
                if self.fifo else {})
        response = aws.sns_client().publish(TopicArn=self.topic_arn, Message=ride.to_message(),
                                            MessageAttributes=message_attributes(ride), **fifo)
        return Publication(str(response["MessageId"]), response.get("SequenceNumber"))
