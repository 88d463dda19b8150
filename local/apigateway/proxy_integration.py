"""What passes between the local API Gateway and a Lambda proxy integration (AWS_PROXY): the event the
function gets, how its answer becomes HTTP, and the answers API Gateway gives itself.

What it emulates (API Gateway Developer Guide, "Set up Lambda proxy integrations": the input format
1.0 and the output format; "Gateway responses"): a body that is not UTF-8 is passed base64-encoded;
a function answer without a statusCode, with an unknown status or a body that cannot be decoded is
API Gateway's 502. Plain functions and constants, apart from the HTTP front door (front_door.py) that
calls them.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from local.cloudformation.deployment import Route

JSON = "application/json"

Answer = tuple[int, dict[str, str], bytes]


def gateway_answer(status: int, message: str, error_type: str) -> Answer:
    return status, {"Content-Type": JSON, "x-amzn-ErrorType": error_type}, json.dumps({"message": message}).encode()


MISSING_TOKEN = gateway_answer(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
TOO_LARGE = gateway_answer(413, "Request Too Long", "RequestTooLongException")
TOO_MANY_REQUESTS = gateway_answer(429, "Too Many Requests", "TooManyRequestsException")
INTERNAL_ERROR = {status: gateway_answer(status, "Internal server error", "InternalServerErrorException")
                  for status in (500, 502)}
TIMED_OUT = gateway_answer(504, "Endpoint request timed out", "IntegrationTimeout")


def gateway_message(body: bytes) -> str | None:
    """The message of an answer API Gateway gave itself ($context.error.message)."""
    try:
        return str(json.loads(body).get("message"))
    except (ValueError, AttributeError):
        return None


def proxy_event(route: Route, stage: str, scope: dict[str, Any], headers: dict[str, str],
                multi: dict[str, list[str]], body: bytes, identity: dict[str, Any]) -> dict[str, Any]:
    """The event a Lambda proxy integration hands the function (payload format 1.0)."""
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:  # binary: API Gateway passes it base64-encoded
        text, encoded = base64.b64encode(body).decode(), True
    query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in query:
        multi_query.setdefault(key, []).append(value)
    return {
        "resource": route.path, "path": route.path, "httpMethod": route.method, "headers": headers,
        "multiValueHeaders": multi, "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": multi_query or None, "pathParameters": None,
        "stageVariables": None, "body": text if body else None, "isBase64Encoded": encoded,
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": stage, "httpMethod": route.method,
                           "resourcePath": route.path, "path": scope["path"],
                           "requestTimeEpoch": int(time.time() * 1000),
                           "identity": {**identity, "sourceIp": (scope.get("client") or ["127.0.0.1"])[0]}},
    }


def proxy_answer(result: Any, request_id: str) -> Answer:
    """The function's proxy response as API Gateway turns it into HTTP; 502 if it is malformed."""
    bad = INTERNAL_ERROR[502]
    if not isinstance(result, dict) or "statusCode" not in result:
        return bad
    try:
        status = int(result["statusCode"])
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[str(name)] = ",".join(str(v) for v in values)
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    except (TypeError, ValueError, AttributeError):
        return bad
    if status not in HTTPStatus._value2member_map_:
        return bad
    return status, {**headers, "x-amzn-RequestId": request_id}, payload
