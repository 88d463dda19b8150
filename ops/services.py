"""The subscriber services of a stack, discovered from its outputs, never named in code.

The stack exports, per service, `<Service>QueueUrl`, `<Service>DlqUrl`, `<Service>SubscriptionDlqUrl`,
`<Service>TableName` and `<Service>FunctionName` (and `<Service>AccountsTableName` if it keeps accounts).
A service is a prefix that has a queue; the Rides table (`RidesTableName`) belongs to the producer and is
not a service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Longest first: "SubscriptionDlqUrl" also ends with "DlqUrl", "AccountsTableName" with "TableName".
SUFFIXES = (("SubscriptionDlqUrl", "subscription_dlq_url"), ("DlqUrl", "dlq_url"), ("QueueUrl", "queue_url"),
            ("AccountsTableName", "accounts_table_name"), ("TableName", "table_name"),
            ("FunctionName", "function_name"))


@dataclass(frozen=True)
class Service:
    name: str
    queue_url: str
    dlq_url: str | None = None
    subscription_dlq_url: str | None = None
    table_name: str | None = None
    function_name: str | None = None
    accounts_table_name: str | None = None  # per-customer accounts beside the ledger (the effect table)

    @property
    def dead_letter_queues(self) -> list[tuple[str, str]]:
        """(kind, url) of its DLQs: "dlq" (the queue's redrive target), "subscription" (SNS delivery failures)."""
        return [(kind, url) for kind, url in (("dlq", self.dlq_url), ("subscription", self.subscription_dlq_url))
                if url]


def discover_services(outputs: Mapping[str, str]) -> list[Service]:
    found: dict[str, dict[str, str]] = {}
    for key, value in outputs.items():
        for suffix, field_name in SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                found.setdefault(key[: -len(suffix)], {})[field_name] = value
                break
    return [Service(name=name, **fields) for name, fields in sorted(found.items()) if "queue_url" in fields]


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def queue_arn(sqs: Any, url: str) -> str:
    """A queue's ARN (SNS subscriptions and message move tasks name queues by ARN, outputs by URL)."""
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
