"""The stage's access log, as API Gateway writes it: one line per request, in the stage's
`AccessLogSetting.Format`, to the log group its `DestinationArn` names.

API Gateway Developer Guide, "Set up CloudWatch logging for REST APIs" and "$context variables for data
models, authorizers, mapping templates, and CloudWatch access logging". Each `$context.<name>` in the
format is replaced by the request's value; a variable with no value (or one the local API does not
know) is written as `-`, as API Gateway writes it. `requestTime` is CLF (`04/Dec/2026:10:00:00 +0000`).
The lines go to one stream per run of the local API (named, like API Gateway's, by 32 hex digits),
through the process's log shipper (local/logs/shipper.py): recording a request costs no I/O.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any

VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")
Put = Callable[[str, str, list[tuple[int, str]]], None]


def request_time(epoch_seconds: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_seconds))


def render(log_format: str, context: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1))
        return "-" if found is None or found == "" else str(found)

    return VARIABLE.sub(value, log_format)


class AccessLog:
    def __init__(self, group: str, log_format: str, put: Put, *, stage: str, api_id: str, account: str) -> None:
        self.group, self.format, self.put = group, log_format, put
        self.stream = secrets.token_hex(16)
        self.fixed = {"stage": stage, "apiId": api_id, "accountId": account}

    def record(self, *, request_id: str, started: float, method: str, path: str, resource_path: str | None,
               status: int, response_length: int, scope: dict[str, Any], identity: dict[str, Any],
               error_message: str | None) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        now = time.time()
        context = {**self.fixed, "requestId": request_id, "extendedRequestId": request_id,
                   "httpMethod": method, "path": path, "resourcePath": resource_path,
                   "status": status, "responseLength": response_length,
                   "protocol": f"HTTP/{scope.get('http_version', '1.1')}", "domainName": headers.get("host"),
                   "requestTime": request_time(started), "requestTimeEpoch": int(started * 1000),
                   "responseLatency": int((now - started) * 1000), "error.message": error_message,
                   "identity.sourceIp": (scope.get("client") or ["127.0.0.1"])[0],
                   "identity.userAgent": headers.get("user-agent"),
                   **{f"identity.{k}": v for k, v in identity.items() if isinstance(v, str)}}
        self.put(self.group, self.stream, [(int(now * 1000), render(self.format, context))])
