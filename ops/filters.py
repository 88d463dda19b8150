"""Which services a ride should reach: SNS filter policies, read from the deployed subscriptions.

The policies come from the live topic (SNS ListSubscriptionsByTopic + GetSubscriptionAttributes),
not from the template or cdk.json, so that smoke and reconcile check what is deployed. `matches`
evaluates a policy the way SNS does for the operators this project can meet: exact values,
`numeric`, `exists`, `anything-but` and `prefix`, every key ANDed, the values of a key ORed. Any
other operator makes it answer None (unknown) rather than guess.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ops.services import queue_arn
from ops.traffic import ATTRIBUTE_FIELDS

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
MISSING = object()


class UnknownOperator(ValueError):
    pass


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        return float(expected) == float(value)
    return bool(expected == value)


def _numeric(terms: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return all(COMPARE[terms[i]](float(value), float(terms[i + 1])) for i in range(0, len(terms), 2))


def _condition(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        return value is not MISSING and _equal(condition, value)
    if len(condition) != 1:
        raise UnknownOperator(str(condition))
    (name, argument), = condition.items()
    if name == "exists":
        return (value is not MISSING) is bool(argument)
    if value is MISSING:
        return False
    if name == "numeric":
        return _numeric(argument, value)
    if name == "prefix":
        return isinstance(value, str) and value.startswith(str(argument))
    if name == "anything-but":
        excluded = argument if isinstance(argument, list) else [argument]
        if all(not isinstance(e, dict) for e in excluded):
            return not any(_equal(e, value) for e in excluded)
    raise UnknownOperator(str(condition))


def matches(policy: Mapping[str, Any] | None, values: Mapping[str, Any]) -> bool | None:
    """True if a message with these attribute (or body) values passes the policy; None if unknown."""
    if not policy:
        return True
    if any(key.startswith("$") or isinstance(conditions, dict) for key, conditions in policy.items()):
        return None  # $or, or a nested (payload) policy: beyond this reader
    try:
        return all(any(_condition(c, values.get(key, MISSING)) for c in (conditions if isinstance(conditions, list)
                                                                        else [conditions]))
                   for key, conditions in policy.items())
    except (UnknownOperator, KeyError, IndexError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Subscription:
    """A service's subscription to the ride topic, as deployed."""

    service: str
    subscribed: bool
    policy: dict[str, Any] | None = None
    scope: str = "MessageAttributes"

    def expects(self, ride: Mapping[str, Any]) -> bool | None:
        """Should this ride reach the service? None when the policy is beyond `matches`."""
        if not self.subscribed:
            return False
        if self.scope == "MessageBody":
            return matches(self.policy, ride)
        return matches(self.policy, {name: float(ride[name]) for name in ATTRIBUTE_FIELDS if name in ride})


def deployed_subscriptions(target: Any) -> dict[str, Subscription]:
    """Per service (by name), its subscription to RideCompletionTopic and filter policy, read from SNS."""
    sns, sqs = target.client("sns"), target.client("sqs")
    by_endpoint: dict[str, str] = {}
    paginator = sns.get_paginator("list_subscriptions_by_topic")
    for page in paginator.paginate(TopicArn=target.output("RideCompletionTopicArn")):
        for subscription in page.get("Subscriptions", []):
            if subscription.get("Protocol") == "sqs":
                by_endpoint[subscription["Endpoint"]] = subscription["SubscriptionArn"]
    found = {}
    for service in target.services:
        subscription_arn = by_endpoint.get(queue_arn(sqs, service.queue_url))
        if subscription_arn is None or subscription_arn == "PendingConfirmation":
            found[service.name] = Subscription(service.name, subscribed=False)
            continue
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
        policy = json.loads(attributes["FilterPolicy"]) if attributes.get("FilterPolicy") else None
        found[service.name] = Subscription(service.name, subscribed=True, policy=policy,
                                           scope=attributes.get("FilterPolicyScope") or "MessageAttributes")
    return found
