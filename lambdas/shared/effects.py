"""Idempotent effects of the subscriber services, keyed on the producer's ride id.

A subscriber's effect is one conditional write: the item appears once, whatever the number of
deliveries (SQS is at-least-once; SNS may redeliver). The key is the ride id, never the SQS
message id, which differs per queue and per redelivery.
"""

from __future__ import annotations

from typing import Any, Protocol

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from shared import aws

_serialize = TypeSerializer().serialize


class EffectStore(Protocol):
    def put_once(self, item: dict[str, Any]) -> bool:
        """Store the item unless one with its `rideId` exists; True if this call stored it."""


class DynamoEffectStore:
    """The service's own table, partition key `rideId`; one request per record, from any thread."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def put_once(self, item: dict[str, Any]) -> bool:
        try:
            aws.dynamodb_client().put_item(TableName=self.table_name, Item={k: _serialize(v) for k, v in item.items()},
                                           ConditionExpression="attribute_not_exists(rideId)")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
