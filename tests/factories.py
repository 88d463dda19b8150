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
# The workshop's own test event (code/lab-2/event.json in aws-samples/asynchronous-messaging-workshop):
# numbers sent as strings.
WORKSHOP_EVENT: dict[str, Any] = {"from": "Frankfurt", "to": "Las Vegas", "duration": "3000", "distance": "1200",
                                  "customer": "cmr", "fare": "899.99"}


def ride_body(**fields: str) -> str:
    """The sample ride as JSON text, with some fields' JSON text replaced verbatim (e.g. fare="1e300")."""
    values = {key: json.dumps(value) for key, value in SAMPLE_RIDE.items()}
    values.update(fields)
    return "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in values.items()) + "}"


# Bodies that crashed the producer or slipped through before, each with the field and a fragment of
# the reason its 400 gives: (body, field, fragment).
HOSTILE_BODIES: list[tuple[str, str, str]] = [
    ("[" * 10_000 + "]" * 10_000, "body", "nested too deeply"),
    (ride_body(to="[" * 10_000 + "]" * 10_000), "body", "nested too deeply"),
    (ride_body(fare="1" * 5_001), "fare", "out of range"),
    (ride_body(fare="1e300"), "fare", "out of range"),
    (ride_body(distance="1e-200"), "distance", "out of range"),
    (ride_body(fare="9.99999999999999999999e125"), "fare", "out of range"),  # rounds up to 1e126
    (ride_body(fare="-1"), "fare", "greater than or equal to 0"),
    (ride_body(fare='-1,"fare":5'), "fare", "more than once"),
    (ride_body(customer='"\\u200b"'), "customer", "visible character"),
    (ride_body(**{"from": '"\\u00a0\\u200b\\ufeff"'}), "from", "visible character"),
    (ride_body(to='"Mitte\\nBerlin"'), "to", "control characters"),
    (ride_body(fare='"NaN"'), "fare", "plain decimal"),
    (ride_body(fare="NaN"), "body", "NaN is not a JSON value"),
    (ride_body(fare="Infinity"), "body", "Infinity is not a JSON value"),
    (ride_body(fare='"Infinity"'), "fare", "plain decimal"),
    (ride_body(fare='"1e400"'), "fare", "plain decimal"),
    (ride_body(fare='"1e2"'), "fare", "plain decimal"),
    (ride_body(fare='" 12"'), "fare", "plain decimal"),
    (ride_body(fare='"12 "'), "fare", "plain decimal"),
    (ride_body(fare='"+12"'), "fare", "plain decimal"),
    (ride_body(fare='".5"'), "fare", "plain decimal"),
    (ride_body(fare='"5."'), "fare", "plain decimal"),
    (ride_body(fare='"012"'), "fare", "plain decimal"),
    (ride_body(fare='"1_000"'), "fare", "plain decimal"),
    (ride_body(fare='"\\u0661\\u0662"'), "fare", "plain decimal"),  # Arabic-Indic digits
    (ride_body(fare='""'), "fare", "plain decimal"),
    (ride_body(fare='"' + "9" * 200 + '"'), "fare", "out of range"),
    (ride_body(fare="true"), "fare", "not true or false"),
    (ride_body(duration="null"), "duration", "JSON number"),
    (ride_body(distance="[600]"), "distance", "JSON number"),
]


def ride_message(ride_id: str | None = None, **changes: Any) -> dict[str, Any]:
    return {**SAMPLE_RIDE, **changes, "id": ride_id or str(uuid.uuid4())}


def sqs_record(body: str | dict[str, Any], message_id: str | None = None, group: str | None = None) -> dict[str, Any]:
    """A record as Lambda delivers it; from a FIFO queue (with its MessageGroupId) when `group` is given."""
    text = body if isinstance(body, str) else json.dumps(body)
    fifo = {"MessageGroupId": group, "MessageDeduplicationId": message_id or "dedup",
            "SequenceNumber": "1"} if group else {}
    return {
        "messageId": message_id or str(uuid.uuid4()), "receiptHandle": "handle", "body": text,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                       "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1700000000000", **fifo},
        "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:queue{'.fifo' if group else ''}",
        "awsRegion": "us-east-1",
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
