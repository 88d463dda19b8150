"""Lambda entry point of POST /submit-ride-completion (API Gateway proxy integration)."""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.observability import logger, metrics, tracer
from shared.ride_store import DynamoRideStore, SnsRidePublisher
from unicorn_management.logic import bad_request, submit_ride


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: the stack sets it on the producer function")
    return value


RETRY_AFTER_SECONDS = "1"  # a 503's Retry-After: DynamoDB or SNS failed this once; clients add jitter
STORE = DynamoRideStore(_required("RIDES_TABLE_NAME"))
PUBLISHER = SnsRidePublisher(_required("TOPIC_ARN"))


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body")
    try:
        if body is not None and event.get("isBase64Encoded"):
            body = base64.b64decode(body, validate=True)
        response = submit_ride(body, _header(event, "Idempotency-Key"), store=STORE, publisher=PUBLISHER)
    except binascii.Error:
        response = bad_request("body", "isBase64Encoded is set but the body is not base64")
    metrics.add_metric(name=f"Responses{response.status // 100}xx", unit=MetricUnit.Count, value=1)
    headers = {"Content-Type": "application/json"}
    if response.status == 503:  # stored nothing, or stored and not published: the same request may be retried
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    return {"statusCode": response.status, "headers": headers, "body": json.dumps(response.body)}
