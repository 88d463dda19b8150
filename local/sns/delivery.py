"""SNS delivering a message to an SQS subscription, as SNS does it: as `sns.amazonaws.com`, judged by the
queue's policy with the topic as `aws:SourceArn`.

moto's SNS puts the message straight into the queue. On AWS a delivery the queue policy refuses is a
client-side error: SNS does not retry it, and sends the message to the subscription's dead-letter queue
(itself judged by that queue's policy) with the message attributes `RequestID`, `ErrorCode` and
`ErrorMessage`, or discards it when there is none. Here the same happens, and a discarded message is
reported (never lost silently). Listeners (the AWS/SNS metrics, local/sns/metrics.py) are told of each
outcome: delivered, filtered out (`filtered:<why>`), failed, redriven to the DLQ, or failed to redrive.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.sns.models import Subscription
from moto.sqs.models import sqs_backends

from local.iam.enforcer import Enforcer

Listener = Callable[[str, str], None]  # (topic ARN, outcome)
SNS = "sns.amazonaws.com"
_installed: dict[str, Any] = {}


def _envelope(subscription: Any, message: str, message_id: str, subject: str | None,
              attributes: dict[str, Any] | None) -> str:
    """The JSON notification SNS writes to a dead-letter queue (no signature: nothing here checks one)."""
    body: dict[str, Any] = {"Type": "Notification", "MessageId": message_id, "TopicArn": subscription.topic.arn,
                            "Message": message, "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
                            + "Z", "UnsubscribeURL": f"https://sns.amazonaws.com/?Action=Unsubscribe&"
                                                     f"SubscriptionArn={subscription.arn}"}
    if subject:
        body["Subject"] = subject
    if attributes:
        body["MessageAttributes"] = {name: {"Type": a["Type"], "Value": a["Value"]} for name, a in attributes.items()}
    return json.dumps(body)


class Delivery:
    def __init__(self, enforcer: Enforcer, on_problem: Callable[[str], None]) -> None:
        self.enforcer, self.on_problem = enforcer, on_problem
        self.listeners: list[Listener] = []

    def _tell(self, topic_arn: str, outcome: str) -> None:
        for listener in self.listeners:
            listener(topic_arn, outcome)

    def deliver(self, original: Callable[..., None], subscription: Any, message: str, message_id: str,
                **options: Any) -> None:
        topic_arn = subscription.topic.arn
        matcher = subscription._filter_policy_matcher
        attributes = options.get("message_attributes")
        if matcher is not None and not matcher.matches(attributes, message):
            why = subscription.attributes.get("FilterPolicyScope") or "MessageAttributes"
            why = "NoMessageAttributes" if why == "MessageAttributes" and not attributes else why
            self._tell(topic_arn, f"filtered:{why}")
            return
        decision = self.enforcer.service_may(SNS, "sqs:SendMessage", subscription.endpoint, source_arn=topic_arn)
        if not self.enforcer.refuses(decision):
            original(subscription, message, message_id, **options)
            self._tell(topic_arn, "delivered")
            return
        self._tell(topic_arn, "failed")
        error = f"User: {SNS} is not authorized to perform: sqs:sendmessage on resource: {subscription.endpoint}"
        self._dead_letter(subscription, message, message_id, error, options)

    def _dead_letter(self, subscription: Any, message: str, message_id: str, error: str,
                     options: dict[str, Any]) -> None:
        topic_arn = subscription.topic.arn
        redrive = json.loads(subscription.attributes.get("RedrivePolicy") or "{}")
        target = redrive.get("deadLetterTargetArn")
        if target and not self.enforcer.refuses(self.enforcer.service_may(SNS, "sqs:SendMessage", target,
                                                                          source_arn=topic_arn)):
            region, name = target.split(":")[3], target.rsplit(":", 1)[-1]
            attributes = {"RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                          "ErrorCode": {"DataType": "String", "StringValue": "AccessDenied"},
                          "ErrorMessage": {"DataType": "String", "StringValue": error}}
            sqs_backends[subscription.account_id][region].send_message(
                name, _envelope(subscription, message, message_id, options.get("subject"),
                                options.get("message_attributes")), message_attributes=attributes,
                group_id=options.get("group_id"), deduplication_id=options.get("deduplication_id"))
            self._tell(topic_arn, "redriven")
            return
        self._tell(topic_arn, "redrive_failed")
        why = f"could not redrive it to {target}" if target else "the subscription has no dead-letter queue"
        self.on_problem(f"SNS could not deliver message {message_id} of {topic_arn} to {subscription.endpoint} "
                        f"({error}) and {why}: the message was discarded, as on AWS")


def install(delivery: Delivery) -> None:
    """Route moto's SQS deliveries through `delivery` (one per process)."""
    _installed["delivery"] = delivery
    if "original" in _installed:
        return
    original = _installed["original"] = Subscription.publish

    def publish(self: Any, message: str, message_id: str, **options: Any) -> None:
        if self.protocol != "sqs":
            return original(self, message, message_id, **options)
        return _installed["delivery"].deliver(original, self, message, message_id, **options)

    Subscription.publish = publish  # type: ignore[method-assign]


def uninstall() -> None:
    if "original" in _installed:
        Subscription.publish = _installed.pop("original")  # type: ignore[method-assign]
    _installed.clear()
