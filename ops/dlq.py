"""Dead-letter queues: look at what failed without consuming it, and redrive it.

Reading: messages are received with a short visibility timeout and then made visible again at once
(ChangeMessageVisibility 0), so a look leaves them where they were (a receive does count in their
ApproximateReceiveCount; a DLQ has no redrive policy of its own, so that moves nothing).

Redrive, per service:
- the queue's DLQ with an SQS message move task (StartMessageMoveTask to the service queue), whose
  progress ListMessageMoveTasks reports;
- the subscription DLQ (SNS delivery failures) by hand, because SQS refuses a move task for a DLQ
  whose source is an SNS subscription: each message is sent to the service queue and only then
  deleted from the DLQ. An interruption between the two leaves a message in both places (a
  duplicate, which the idempotent consumers absorb); a message is never deleted before it is sent.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ops.errors import OpsError
from ops.services import Service, queue_arn
from ops.traffic import ride_id_of

PEEK_VISIBILITY_SECONDS = 30
EXCERPT_LENGTH = 60
MOVE_POLL_SECONDS = 0.5
ACTIVE_MOVE = ("RUNNING", "CANCELLING")
CLOCK_SKEW_MS = 5_000  # a task that started up to this long before our clock says may still be ours


@dataclass
class DeadLetter:
    service: str
    kind: str  # "dlq" or "subscription"
    message_id: str
    ride_id: str | None
    body: str
    receive_count: int
    first_failure: str | None  # ISO time
    attributes: dict[str, str] = field(default_factory=dict)
    message_attributes: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        excerpt = self.body if len(self.body) <= EXCERPT_LENGTH else self.body[: EXCERPT_LENGTH - 1] + "…"
        return {"service": self.service, "queue": self.kind, "message_id": self.message_id, "ride_id": self.ride_id,
                "excerpt": excerpt, "receive_count": self.receive_count, "first_failure": self.first_failure}

    def full(self) -> dict[str, Any]:
        return {**self.row(), "body": self.body, "attributes": self.attributes,
                "message_attributes": self.message_attributes}


def _iso(milliseconds: str | None) -> str | None:
    if not milliseconds or not milliseconds.isdigit() or int(milliseconds) == 0:
        return None
    return dt.datetime.fromtimestamp(int(milliseconds) / 1000, dt.UTC).isoformat(timespec="seconds")


def peek(sqs: Any, url: str, *, limit: int = 100, wait_seconds: int = 0) -> list[dict[str, Any]]:
    """Up to `limit` messages of a queue, left in it (visible again when this returns)."""
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(seen)), VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                WaitTimeSeconds=wait_seconds, MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"]).get("Messages", [])
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                seen.setdefault(message["MessageId"], message)
    finally:
        for first in range(0, len(handles), 10):
            entries = [{"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                       for n, h in enumerate(handles[first:first + 10])]
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
    return list(seen.values())


def dead_letter(service: str, kind: str, message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("Attributes", {})
    # A queue DLQ's message failed when first received from the service queue (the timestamp travels with
    # it); a subscription DLQ's message failed when SNS gave up and sent it there.
    failed = attributes.get("ApproximateFirstReceiveTimestamp") if kind == "dlq" else attributes.get("SentTimestamp")
    return DeadLetter(service=service, kind=kind, message_id=message["MessageId"], ride_id=ride_id_of(message["Body"]),
                      body=message["Body"], receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
                      first_failure=_iso(failed) or _iso(attributes.get("SentTimestamp")), attributes=attributes,
                      message_attributes=message.get("MessageAttributes", {}))


def list_dead_letters(target: Any, services: list[Service], *, limit: int = 100) -> list[DeadLetter]:
    sqs = target.client("sqs")
    wait = 0 if target.kind == "local" else 1  # on AWS a short poll samples only some servers
    return [dead_letter(service.name, kind, message)
            for service in services for kind, url in service.dead_letter_queues
            for message in peek(sqs, url, limit=limit, wait_seconds=wait)]


def find_dead_letter(target: Any, services: list[Service], key: str, *, limit: int = 1000) -> DeadLetter:
    """The dead letter whose message id or ride id is, or starts with, `key`."""
    for letter in list_dead_letters(target, services, limit=limit):
        if letter.message_id.startswith(key) or (letter.ride_id or "").startswith(key):
            return letter
    raise OpsError(f"no message {key} (message id or ride id) in the DLQs of "
                   f"{', '.join(s.name for s in services)}")


# -- redrive ------------------------------------------------------------------------------------------------
@dataclass
class RedriveResult:
    service: str
    kind: str
    moved: int
    to_move: int
    status: str  # COMPLETED, FAILED, CANCELLED, EMPTY, INTERRUPTED
    detail: str | None = None


def _visible(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def redrive_queue_dlq(sqs: Any, service: Service, *, rate: int | None = None,
                      on_progress: Callable[[int, int], None] | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> RedriveResult:
    """Move the service DLQ's messages back to the service queue with an SQS message move task."""
    assert service.dlq_url
    source = queue_arn(sqs, service.dlq_url)
    latest = sqs.list_message_move_tasks(SourceArn=source, MaxResults=1).get("Results", [])
    if latest and latest[0]["Status"] in ACTIVE_MOVE:  # follow the task already moving them
        handle, not_before = latest[0].get("TaskHandle"), int(latest[0].get("StartedTimestamp", 0))
    else:
        if _visible(sqs, service.dlq_url) == 0:
            return RedriveResult(service.name, "dlq", 0, 0, "EMPTY")
        arguments: dict[str, Any] = {"SourceArn": source, "DestinationArn": queue_arn(sqs, service.queue_url)}
        if rate:
            arguments["MaxNumberOfMessagesPerSecond"] = rate
        not_before = int(time.time() * 1000) - CLOCK_SKEW_MS
        try:
            handle = sqs.start_message_move_task(**arguments)["TaskHandle"]
        except ClientError as error:
            raise OpsError(f"{service.name}: StartMessageMoveTask refused: "
                           f"{error.response.get('Error', {}).get('Message')}") from error
    while True:
        task = next(iter(sqs.list_message_move_tasks(SourceArn=source, MaxResults=1).get("Results", [])), {})
        # The list shows a task's handle only while it runs: know ours by its handle, or once it is over by
        # its start time (an older task may still be listed first for a moment after the start).
        ours = task.get("TaskHandle") == handle or int(task.get("StartedTimestamp", 0)) >= not_before
        if ours:
            not_before = max(not_before, int(task.get("StartedTimestamp", 0)))
            moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
            to_move = int(task.get("ApproximateNumberOfMessagesToMove", 0))
            if on_progress:
                on_progress(moved, to_move)
            if task["Status"] not in ACTIVE_MOVE:
                return RedriveResult(service.name, "dlq", moved, to_move, task["Status"], task.get("FailureReason"))
        sleep(MOVE_POLL_SECONDS)


def raw_delivery(body: str, message_attributes: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The message as the raw-delivery subscription would have put it on the queue.

    SNS may write a subscription DLQ message as the JSON notification envelope; unwrap it, and carry
    its attributes ({"Type", "Value"}) over as SQS message attributes ({"DataType", "StringValue"})."""
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    if isinstance(envelope, dict) and envelope.get("Type") == "Notification" and "Message" in envelope:
        attributes = {name: {"DataType": value.get("Type", "String"), "StringValue": str(value.get("Value"))}
                      for name, value in (envelope.get("MessageAttributes") or {}).items()}
        return str(envelope["Message"]), attributes
    kept = {name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
            for name, value in message_attributes.items()}
    return body, kept


def redrive_subscription_dlq(sqs: Any, service: Service, *, on_progress: Callable[[int, int], None] | None = None,
                             stop: Callable[[], bool] = lambda: False,
                             visibility_seconds: int = PEEK_VISIBILITY_SECONDS) -> RedriveResult:
    """Send each subscription-DLQ message to the service queue, then delete it from the DLQ."""
    assert service.subscription_dlq_url
    to_move, moved = _visible(sqs, service.subscription_dlq_url), 0
    if to_move == 0:
        return RedriveResult(service.name, "subscription", 0, 0, "EMPTY")
    while not stop():
        messages = sqs.receive_message(QueueUrl=service.subscription_dlq_url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=visibility_seconds, MessageAttributeNames=["All"],
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            break
        entries = []
        for n, message in enumerate(messages):
            body, attributes = raw_delivery(message["Body"], message.get("MessageAttributes", {}))
            entries.append({"Id": str(n), "MessageBody": body, **({"MessageAttributes": attributes} if attributes
                                                                  else {})})
        sent = sqs.send_message_batch(QueueUrl=service.queue_url, Entries=entries)
        delivered = [messages[int(entry["Id"])] for entry in sent.get("Successful", [])]
        if delivered:  # only what reached the service queue leaves the DLQ
            sqs.delete_message_batch(QueueUrl=service.subscription_dlq_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(delivered)])
        moved += len(delivered)
        if on_progress:
            on_progress(moved, max(to_move, moved))
        if sent.get("Failed"):
            failure = sent["Failed"][0]
            return RedriveResult(service.name, "subscription", moved, max(to_move, moved), "FAILED",
                                 f"{failure.get('Code')}: {failure.get('Message')}")
    return RedriveResult(service.name, "subscription", moved, max(to_move, moved),
                         "INTERRUPTED" if stop() else "COMPLETED")


def redrive(target: Any, services: list[Service], *, rate: int | None = None,
            on_progress: Callable[[str, str, int, int], None] | None = None) -> list[RedriveResult]:
    """Redrive both DLQs of each service; results per (service, DLQ)."""
    sqs = target.client("sqs")
    results = []
    for service in services:
        if service.dlq_url:
            results.append(redrive_queue_dlq(sqs, service, rate=rate, on_progress=(
                (lambda m, t, s=service.name: on_progress(s, "dlq", m, t)) if on_progress else None)))
        if service.subscription_dlq_url:
            results.append(redrive_subscription_dlq(sqs, service, on_progress=(
                (lambda m, t, s=service.name: on_progress(s, "subscription", m, t)) if on_progress else None)))
    return results
