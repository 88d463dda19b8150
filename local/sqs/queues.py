"""What a local event source mapping needs from SQS, taken from moto's backend in the same process
(the AWS/SQS metrics of the queues are local/sqs/metrics.py's).

Lambda's pollers are part of the Lambda service, next to SQS, not clients across the internet; here
they run in the process that hosts moto and call the same backend operations the SQS API calls
(moto_patches keeps them atomic), without an HTTP round trip, a serialisation and a parse per call.
Records come out shaped as Lambda's SQS event delivers them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from moto.sqs.models import Message, SQSBackend, sqs_backends

from local.options import ACCOUNT

# Every SQS message operation runs under it (local/moto_patches.py makes them atomic); readers in the process too.
QUEUE_LOCK = threading.RLock()

def epoch_millis() -> float:
    """SQS's clock here: the epoch in milliseconds, the number moto's `unix_time_millis` gives without the two
    datetimes it builds per call (SQS asks it once per message it looks at)."""
    return time.time() * 1000


# System attributes a Lambda SQS record carries when the message has them.
RECORD_ATTRIBUTES = {"ApproximateReceiveCount": "approximate_receive_count", "SentTimestamp": "sent_timestamp",
                     "SenderId": "sender_id", "ApproximateFirstReceiveTimestamp": "approximate_first_receive_timestamp",
                     "SequenceNumber": "sequence_number", "MessageGroupId": "group_id",
                     "MessageDeduplicationId": "deduplication_id"}


def lambda_record(message: Message, queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as Lambda's event source mapping delivers it."""
    attributes = {name: str(getattr(message, field)) for name, field in RECORD_ATTRIBUTES.items()
                  if getattr(message, field, None) is not None}
    trace = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace:
        attributes["AWSTraceHeader"] = str(trace.get("StringValue", trace) if isinstance(trace, dict) else trace)
    message_attributes = {
        name: {"stringValue": a.get("StringValue"), "binaryValue": a.get("BinaryValue"),
               "stringListValues": a.get("StringListValues", []), "binaryListValues": a.get("BinaryListValues", []),
               "dataType": a["DataType"]}
        for name, a in message.message_attributes.items()
    }
    return {"messageId": message.id, "receiptHandle": message.receipt_handle, "body": message.body,
            "attributes": attributes, "messageAttributes": message_attributes, "md5OfBody": message.body_md5,
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}


class QueueAccess:
    """One queue of moto's SQS, as a poller sees it."""

    def __init__(self, queue_arn: str, region: str) -> None:
        self.name = queue_arn.rsplit(":", 1)[-1]
        self.arn, self.region = queue_arn, region
        self.backend: SQSBackend = sqs_backends[ACCOUNT][region]

    def visibility_timeout(self) -> int:
        """The queue's visibility timeout as it is now (SetQueueAttributes may change it)."""
        return int(self.backend.get_queue(self.name).visibility_timeout)

    def receive(self, count: int) -> list[dict[str, Any]]:
        """Up to `count` messages, invisible for the queue's own visibility timeout (as Lambda receives)."""
        messages = self.backend.receive_message(self.name, count, 0, self.visibility_timeout(), ["All"])
        return [lambda_record(message, self.arn, self.region) for message in messages]

    def delete(self, receipt_handles: list[str]) -> int:
        """Delete these messages; how many were still there (the rest went with a duplicate delivery).
        On a FIFO queue a delete may free a message group: the pollers waiting for one are woken."""
        deleted = 0
        for start in range(0, len(receipt_handles), 10):
            success, _ = self.backend.delete_message_batch(self.name, [
                {"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(receipt_handles[start:start + 10])])
            deleted += len(success)
        queue = self.backend.get_queue(self.name)
        if deleted and queue.fifo_queue:
            with queue._messages_lock:
                queue._messages_lock.notify_all()
        return deleted

    def change_visibility(self, receipt_handle: str, seconds: int) -> bool:
        try:
            self.backend.change_message_visibility(self.name, receipt_handle, seconds)
        except Exception:  # gone meanwhile: deleted through a duplicate delivery
            return False
        return True

    def wait(self, timeout: float) -> None:
        """Until a message can be received, or `timeout` seconds. A send wakes waiters at once, and so does
        a poller's delete on a FIFO queue; the wait ends when the first message in flight turns visible again
        (nobody wakes it), or after `timeout`."""
        queue = self.backend.get_queue(self.name)
        with queue._messages_lock:
            queue._messages_lock.wait_for(lambda: receivable(queue), min(timeout, until_one_turns_visible(queue)))


def until_one_turns_visible(queue: Any) -> float:
    """Seconds until the first message in flight turns visible again (a retry, or a FIFO group let go)."""
    ends = [m.visible_at for m in queue._pending_messages if m.visible_at]
    return max(0.0, (min(ends) - epoch_millis()) / 1000 + 0.001) if ends else float("inf")


def receivable(queue: Any) -> bool:
    """Whether a receive would return a message now. On a FIFO queue a visible message whose group has
    one in flight is not (moto's receive skips it): a poller that took "visible" for "receivable" spun,
    receiving nothing as fast as it could while a failed record held its group (179 CPU s per 1,000 rides
    in the FIFO load run)."""
    if not queue.fifo_queue:
        return any(m.visible and not m.delayed for m in queue._messages)
    held = {m.group_id for m in queue._pending_messages if not m.visible}
    return any(m.visible and not m.delayed and m.group_id not in held for m in queue._messages)
