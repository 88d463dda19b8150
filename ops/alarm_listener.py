"""A temporary queue subscribed to the stack's alarm topic: proof that an alarm's notification reaches people.

An alarm in ALARM that nobody hears of is the failure a game day must catch (an alarm topic whose key
does not grant CloudWatch, a topic policy without cloudwatch.amazonaws.com). So the drill listens where
people would: a queue of its own, subscribed to the topic, whose policy lets only that topic send
(sns.amazonaws.com with aws:SourceArn, over TLS). It reads CloudWatch's JSON notifications from it, and
`close()` unsubscribes and deletes it, whatever happened.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ops.services import queue_arn


@dataclass(frozen=True)
class Notification:
    alarm: str
    state: str  # NewStateValue
    old_state: str
    received: float  # time.time() when read

    def row(self, since: float) -> dict[str, Any]:
        return {"alarm": self.alarm, "state": self.state, "old_state": self.old_state,
                "seconds": round(max(0.0, self.received - since), 1)}


def only_from(topic_arn: str, arn: str) -> dict[str, Any]:
    """A queue policy: the alarm topic may send, over TLS; nobody else is granted anything."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AlarmTopicOnly", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": "sqs:SendMessage", "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}},
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": arn,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def parse(body: str, now: float) -> Notification | None:
    """A CloudWatch alarm notification from an SNS envelope (None for anything else, e.g. a confirmation)."""
    try:
        envelope = json.loads(body)
        message = json.loads(envelope["Message"]) if envelope.get("Type") == "Notification" else None
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(message, dict) or "AlarmName" not in message:
        return None
    return Notification(str(message["AlarmName"]), str(message.get("NewStateValue")),
                        str(message.get("OldStateValue")), now)


class AlarmListener:
    def __init__(self, target: Any, run_id: str) -> None:
        self.sqs, self.sns = target.client("sqs"), target.client("sns")
        self.topic_arn = target.output("AlarmTopicArn")
        self.name = f"{target.stack_name[:40]}-drill-{run_id}"
        self.url: str | None = None
        self.subscription: str | None = None
        self.wait_seconds = 0 if target.kind == "local" else 1
        self.received: list[Notification] = []

    def open(self) -> AlarmListener:
        self.url = str(self.sqs.create_queue(QueueName=self.name, Attributes={"SqsManagedSseEnabled": "true"})[
            "QueueUrl"])
        arn = queue_arn(self.sqs, self.url)
        self.sqs.set_queue_attributes(QueueUrl=self.url, Attributes={"Policy": json.dumps(only_from(self.topic_arn,
                                                                                                      arn))})
        self.subscription = str(self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=arn,
                                                   ReturnSubscriptionArn=True)["SubscriptionArn"])
        return self

    def read(self) -> list[Notification]:
        """The notifications that arrived since the last read (also kept in `received`)."""
        assert self.url
        found: list[Notification] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=self.wait_seconds).get("Messages", [])
            if not messages:
                break
            for message in messages:
                notification = parse(message["Body"], time.time())
                if notification:
                    found.append(notification)
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])
        self.received += found
        return found

    def close(self) -> None:
        """Unsubscribe and delete the queue; each is tried even if the other fails."""
        try:
            if self.subscription and self.subscription.startswith("arn:"):
                self.sns.unsubscribe(SubscriptionArn=self.subscription)
        finally:
            if self.url:
                self.sqs.delete_queue(QueueUrl=self.url)
