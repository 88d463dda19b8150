"""Policies changed for the length of a test: one statement taken out (or replaced), then put back.

The enforcement tests and the alarm tests break a grant on purpose and watch the local cloud refuse
what AWS would; the document is always written back, even when the test fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from local.cloud import LocalCloud

Picker = Callable[[dict[str, Any]], bool]


def without(statements: list[dict[str, Any]], wanted: Picker) -> list[dict[str, Any]]:
    kept = [s for s in statements if not wanted(s)]
    assert len(kept) == len(statements) - 1, "exactly one statement is taken out"
    return kept


def actions(statement: dict[str, Any]) -> list[str]:
    found = statement.get("Action", [])
    return found if isinstance(found, list) else [found]


@contextmanager
def statement_removed(document: dict[str, Any], write: Callable[[dict[str, Any]], None], wanted: Picker,
                      instead: dict[str, Any] | None = None) -> Iterator[None]:
    """A policy without the statement `wanted` picks (or with `instead` in its place), for the duration."""
    write({**document, "Statement": without(document["Statement"], wanted) + ([instead] if instead else [])})
    try:
        yield
    finally:
        write(document)


def queue_statement_removed(cloud: LocalCloud, url: str, wanted: Picker) -> Any:
    sqs = cloud.clients.client("sqs")
    document = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    return statement_removed(document, lambda d: sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": json.dumps(d)}), wanted)


def key_statement_removed(cloud: LocalCloud, key_id: str, wanted: Picker, instead: dict[str, Any] | None = None) -> Any:
    kms = cloud.clients.client("kms")
    document = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    return statement_removed(document, lambda d: kms.put_key_policy(
        KeyId=key_id, PolicyName="default", Policy=json.dumps(d)), wanted, instead)


def topic_statement_removed(cloud: LocalCloud, topic_arn: str, wanted: Picker) -> Any:
    sns = cloud.clients.client("sns")
    document = json.loads(sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["Policy"])
    return statement_removed(document, lambda d: sns.set_topic_attributes(
        TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(d)), wanted)


def topic_key(cloud: LocalCloud, topic_arn: str) -> str:
    key = cloud.clients.client("sns").get_topic_attributes(TopicArn=topic_arn)["Attributes"]["KmsMasterKeyId"]
    return str(cloud.clients.client("kms").describe_key(KeyId=key)["KeyMetadata"]["KeyId"])
