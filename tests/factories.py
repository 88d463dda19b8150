"""Test data: the workshop's sample ride, SQS events shaped as Lambda delivers them."""

from __future__ import annotations

import json
import uuid
from typing import Any

# The workshop's sample ride (fare >= 50 and distance >= 20: extraordinary).
SAMPLE_RIDE: dict[str, Any] = {"from": "Berlin", "to": "Munich", "duration": 480, "distance": 600,
                               "customer": "cmr", "fare": 256.50}
ORDINARY_RIDE: dict[str, Any] = {"from": "Kreuzberg", "to": "Mitte", "duration": 15, "distance": 4,
                                 "customer": "ana", "fare": 12.0}


def ride_message(ride_id: str | None = None, **changes: Any) -> dict[str, Any]:
    return {**SAMPLE_RIDE, **changes, "id": ride_id or str(uuid.uuid4())}


def sqs_record(body: str | dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "messageId": message_id or str(uuid.uuid4()), "receiptHandle": "handle", "body": text,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                       "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1700000000000"},
        "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:queue", "awsRegion": "us-east-1",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


class LambdaContext:
    function_name = "test-function"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb = 256
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def api_event(body: str | dict[str, Any] | None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    return {"resource": "/submit-ride-completion", "path": "/submit-ride-completion", "httpMethod": "POST",
            "headers": headers or {"Content-Type": "application/json"}, "body": text, "isBase64Encoded": False,
            "requestContext": {"requestId": str(uuid.uuid4()), "stage": "prod"}}
