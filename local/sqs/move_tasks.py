"""SQS message move tasks (native DLQ redrive) for moto 5.2, which does not implement them.

`StartMessageMoveTask`, `ListMessageMoveTasks` and `CancelMessageMoveTask` are added to moto's SQS
response class (moto dispatches the JSON action `AmazonSQS.StartMessageMoveTask` to a method named
`start_message_move_task`), answering as AWS does (shapes and error codes from the SQS API
reference, error messages as AWS words them):

- the source must be a dead-letter queue of some SQS queue's redrive policy; any other queue, such
  as a DLQ whose source is an SNS subscription, is refused with `InvalidParameterValue` "Source queue
  must be configured as a Dead Letter Queue.";
- `DestinationArn` is optional: without it, each message goes back to the queue whose redrive
  policy moved it to the DLQ (AWS records that queue on the message as `DeadLetterQueueSourceArn`;
  here the redrive step tags the message the same way);
- `MaxNumberOfMessagesPerSecond` from 1 to 500 paces the move; without it, as fast as possible;
- one active task per source queue: a second start fails with `InvalidParameterValue`;
- the task moves the `ApproximateNumberOfMessagesToMove` messages visible when it starts, in the
  background, inside the moto process; statuses RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED;
- each message is sent to its destination (a new message: new id, new enqueue time, same body and
  attributes) and only then deleted from the source, so an interruption can duplicate, never lose;
- the task handle is base64 JSON of the task id and source ARN, as AWS's is.

Everything goes through the SQS backend's own public methods (receive, send, delete), so whatever
else wraps them (local/moto_patches.py: atomic queue operations) holds for the move too.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.sqs.exceptions import QueueDoesNotExist, SQSException
from moto.sqs.models import Queue, SQSBackend, sqs_backends
from moto.sqs.responses import SQSResponse

from local.sqs import fifo
from local.sqs.queues import epoch_millis

MAX_MESSAGES_PER_SECOND = 500
MAX_LIST_RESULTS = 10
RECEIVE_VISIBILITY_SECONDS = 30  # a message being moved is hidden this long if the move dies half-way
SOURCE_ATTRIBUTE = "dead_letter_queue_source_arn"  # set on a moto Message when redrive moves it to a DLQ


class Status:
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


@dataclass
class MoveTask:
    task_id: str
    source: Queue
    source_arn: str
    destination_arn: str | None
    max_per_second: int | None
    started_ms: int
    to_move: int
    moved: int = 0
    status: str = Status.RUNNING
    failure_reason: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def handle(self) -> str:
        return encode_handle(self.task_id, self.source_arn)

    def entry(self) -> dict[str, Any]:
        """A ListMessageMoveTasksResultEntry: optional fields only where AWS includes them."""
        entry: dict[str, Any] = {
            "Status": self.status, "SourceArn": self.source_arn, "StartedTimestamp": self.started_ms,
            "ApproximateNumberOfMessagesMoved": self.moved, "ApproximateNumberOfMessagesToMove": self.to_move}
        if self.status == Status.RUNNING:
            entry["TaskHandle"] = self.handle
        if self.destination_arn:
            entry["DestinationArn"] = self.destination_arn
        if self.max_per_second is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.max_per_second
        if self.status == Status.FAILED and self.failure_reason:
            entry["FailureReason"] = self.failure_reason
        return entry


_tasks: list[MoveTask] = []
_tasks_lock = threading.Lock()
_receiving = threading.local()  # the queue a receive on this thread reads (redrive moves from it)
_originals: dict[str, Any] = {}
OPERATIONS = ("start_message_move_task", "list_message_move_tasks", "cancel_message_move_task")


def encode_handle(task_id: str, source_arn: str) -> str:
    return base64.b64encode(json.dumps({"taskId": task_id, "sourceArn": source_arn}).encode()).decode()


def _decode_handle(handle: str) -> tuple[str, str]:
    try:
        decoded = json.loads(base64.b64decode(handle, validate=True))
        return str(decoded["taskId"]), str(decoded["sourceArn"])
    except (binascii.Error, ValueError, TypeError, KeyError) as error:
        raise SQSException("InvalidParameterValue", "Value for parameter TaskHandle is invalid.") from error


def _not_found(parameter: str) -> SQSException:
    return SQSException("ResourceNotFoundException",
                        f"The resource that you specified for the {parameter} parameter doesn't exist.")


def _queue_for_arn(arn: str | None, parameter: str) -> tuple[SQSBackend, Queue]:
    parts = (arn or "").split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise _not_found(parameter)
    region, account, name = parts[3], parts[4], parts[5]
    try:
        backend = sqs_backends[account][region]
        return backend, backend.get_queue(name)
    except (QueueDoesNotExist, KeyError) as error:
        raise _not_found(parameter) from error


def _sources_of(backend: SQSBackend, dlq: Queue) -> list[Queue]:
    return [q for q in list(backend.queues.values()) if q.dead_letter_queue is dlq]


# -- the three operations (methods of moto's SQSResponse) ----------------------------------------------
def start_message_move_task(self: SQSResponse) -> ActionResult:
    source_arn = self._get_param("SourceArn")
    destination_arn = self._get_param("DestinationArn") or None
    rate = self._get_param("MaxNumberOfMessagesPerSecond")
    backend, source = _queue_for_arn(source_arn, "SourceArn")
    if not _sources_of(backend, source):
        raise SQSException("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
    if destination_arn:
        _queue_for_arn(destination_arn, "DestinationArn")
    if rate is not None and not 1 <= int(rate) <= MAX_MESSAGES_PER_SECOND:
        raise SQSException("InvalidParameterValue", f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is "
                           f"invalid. Reason: must be between 1 and {MAX_MESSAGES_PER_SECOND}.")
    with _tasks_lock:
        if any(t.source is source and t.status in (Status.RUNNING, Status.CANCELLING) for t in _tasks):
            raise SQSException("InvalidParameterValue", "There is already a task running. Only one active task is "
                               "allowed for a source queue arn at a given time.")
        task = MoveTask(task_id=str(uuid.uuid4()), source=source, source_arn=source.queue_arn,
                        destination_arn=destination_arn, max_per_second=None if rate is None else int(rate),
                        started_ms=int(epoch_millis()), to_move=len(source.messages))
        _tasks.append(task)
    threading.Thread(target=_run, args=(backend, task), daemon=True, name=f"sqs-move-{task.task_id[:8]}").start()
    return ActionResult({"TaskHandle": task.handle})


def list_message_move_tasks(self: SQSResponse) -> ActionResult:
    _, source = _queue_for_arn(self._get_param("SourceArn"), "SourceArn")
    limit = self._get_param("MaxResults")
    limit = 1 if limit is None else int(limit)
    if not 1 <= limit <= MAX_LIST_RESULTS:
        raise SQSException("InvalidParameterValue", f"Value {limit} for parameter MaxResults is invalid. "
                           f"Reason: must be between 1 and {MAX_LIST_RESULTS}.")
    with _tasks_lock:
        mine = [t for t in _tasks if t.source is source]
    return ActionResult({"Results": [t.entry() for t in reversed(mine[-limit:])]})


def cancel_message_move_task(self: SQSResponse) -> ActionResult:
    task_id, source_arn = _decode_handle(self._get_param("TaskHandle") or "")
    _, source = _queue_for_arn(source_arn, "SourceArn")
    with _tasks_lock:
        task = next((t for t in _tasks if t.task_id == task_id and t.source is source), None)
        if task is None:
            raise SQSException("ResourceNotFoundException", "Task does not exist.")
        if task.status != Status.RUNNING:
            raise SQSException("InvalidParameterValue", f"Only a RUNNING task can be cancelled; this one is "
                               f"{task.status}.")
        task.status = Status.CANCELLING
        task.cancel.set()
        return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})


# -- the move, in the background -----------------------------------------------------------------------
def _destination_name(backend: SQSBackend, task: MoveTask, message: Any) -> str:
    arn = task.destination_arn or getattr(message, SOURCE_ATTRIBUTE, None)
    if arn is None:  # not moved here by a redrive policy: AWS would not know where it came from either,
        sources = _sources_of(backend, task.source)  # unless the DLQ has a single source
        if len(sources) != 1:
            raise QueueDoesNotExist()
        return sources[0].name
    return _queue_for_arn(arn, "DestinationArn")[1].name


def _run(backend: SQSBackend, task: MoveTask) -> None:
    started = time.monotonic()
    try:
        while task.moved < task.to_move and not task.cancel.is_set():
            wanted = min(10, task.to_move - task.moved)
            if task.max_per_second:  # pace: message n leaves no earlier than n / rate seconds after the start
                wanted = 1
                time.sleep(max(0.0, started + task.moved / task.max_per_second - time.monotonic()))
            messages = backend.receive_message(task.source.name, wanted, 0, RECEIVE_VISIBILITY_SECONDS, ["All"])
            if not messages:
                break  # fewer left than counted at the start (another consumer took some)
            for message in messages:
                if task.cancel.is_set():
                    backend.change_message_visibility(task.source.name, message.receipt_handle, 0)
                    continue
                try:
                    destination = _destination_name(backend, task, message)
                    with fifo.moving():  # a FIFO message keeps its group and deduplication id
                        backend.send_message(destination, message.body, message_attributes=message.message_attributes,
                                             system_attributes=message.system_attributes,
                                             group_id=message.group_id, deduplication_id=message.deduplication_id)
                except SQSException as error:
                    backend.change_message_visibility(task.source.name, message.receipt_handle, 0)
                    raise _Failed(error.code) from error
                backend.delete_message(task.source.name, message.receipt_handle)
                task.moved += 1
    except _Failed as failure:
        task.status, task.failure_reason = Status.FAILED, str(failure)
        return
    except Exception as error:  # the source vanished, or anything else: the task fails, as on AWS
        task.status, task.failure_reason = Status.FAILED, getattr(error, "code", type(error).__name__)
        return
    task.status = Status.CANCELLED if task.cancel.is_set() else Status.COMPLETED


class _Failed(Exception):
    pass


# -- DeadLetterQueueSourceArn: remember where redrive moved a message from ------------------------------
def _tracking_receive(method: Any) -> Any:
    @functools.wraps(method)
    def receive(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            _receiving.queue = self.get_queue(queue_name)
        except QueueDoesNotExist:
            _receiving.queue = None
        try:
            return method(self, queue_name, *args, **kwargs)
        finally:
            _receiving.queue = None
    return receive


def _tagging_add(method: Any) -> Any:
    @functools.wraps(method)
    def add_message(self: Queue, message: Any) -> None:
        source = getattr(_receiving, "queue", None)
        if source is not None and source.dead_letter_queue is self:  # moto's redrive, inside a receive
            setattr(message, SOURCE_ATTRIBUTE, source.queue_arn)
        return method(self, message)
    return add_message


def install() -> None:
    """Add the three operations and the source tracking to moto (idempotent)."""
    if _originals:
        return
    _originals["SQSBackend.receive_message"] = SQSBackend.receive_message
    _originals["Queue.add_message"] = Queue.add_message
    SQSBackend.receive_message = _tracking_receive(SQSBackend.receive_message)  # type: ignore[method-assign]
    Queue.add_message = _tagging_add(Queue.add_message)  # type: ignore[method-assign]
    for name, operation in zip(OPERATIONS, (start_message_move_task, list_message_move_tasks,
                                            cancel_message_move_task), strict=True):
        setattr(SQSResponse, name, operation)


def uninstall() -> None:
    """Remove what install() added; running tasks are cancelled."""
    if not _originals:
        return
    SQSBackend.receive_message = _originals.pop("SQSBackend.receive_message")  # type: ignore[method-assign]
    Queue.add_message = _originals.pop("Queue.add_message")  # type: ignore[method-assign]
    for name in OPERATIONS:
        delattr(SQSResponse, name)
    with _tasks_lock:
        for task in _tasks:
            task.cancel.set()
        _tasks.clear()
