"""What a preflight check answers (a Check with its Status, detail and fix), and the short-timeout AWS
client and one-line error text every check uses.

The ground the preflight checks stand on (ops/preflight.py, ops/preflight_parameters.py), and what
scripts/preflight_command.py prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
MAX_DETAIL = 200


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"  # the deploy works, but something needs a decision
    FAIL = "fail"  # the deploy would fail, or leave a broken stack
    SKIP = "skip"  # not checked (no credentials)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        found = error.response.get("Error", {})
        message = str(found.get("Message", ""))
        if message.lstrip().startswith("<"):  # an HTML page, not an AWS error: the endpoint lacks the API
            message = "the endpoint does not offer this API"
        text = f"{found.get('Code', 'Error')}: {message}"
    else:
        text = str(error) or type(error).__name__
    line = " ".join(text.split())
    return line if len(line) <= MAX_DETAIL else line[:MAX_DETAIL] + "…"


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def client(session: Any, name: str) -> Any:
    return session.client(name, config=CLIENT_CONFIG)


def failed(checks: list[Check]) -> bool:
    return any(check.status is Status.FAIL for check in checks)
