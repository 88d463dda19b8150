"""The Lambda API's SQS event source mappings, run by the local pollers (local/pollers.py).

moto keeps the mappings: Create/Get/List/Update/DeleteEventSourceMapping answer from its Lambda backend,
whichever client calls (the AWS CLI, boto3, an SDK). Its own SQS trigger, though, runs functions in
Docker on every send and ignores `batchItemFailures`. So here:

- moto's trigger never runs: a queue never sees a mapping (its `lambda_event_source_mappings` is always
  empty, whatever `CreateEventSourceMapping` or `UpdateEventSourceMapping Enabled=true` puts there);
- every create, update and delete reaches the `MappingService`, which starts, changes or stops the
  mapping's poller, so `--no-enabled` stops polling (messages wait in the queue), `--enabled` resumes it,
  and `BatchSize`, `MaximumBatchingWindowInSeconds`, `ScalingConfig` and `FunctionResponseTypes` apply to
  the next batch;
- `State` is the poller's: Creating, Enabling, Enabled, Updating, Disabling, Disabled, Deleting;
- a function's reserved concurrency (`PutFunctionConcurrency`, `DeleteFunctionConcurrency`, or the template's
  `ReservedConcurrentExecutions`) caps its pollers' concurrent batches, as it caps invocations on Lambda; 0
  stops them (AWS's pollers would receive and be throttled, returning the messages after their visibility
  timeout; here they do not receive, so no receive count is spent);
- the limits Lambda checks are checked, with Lambda's errors: batch size 1-10,000 (10 for FIFO), batching
  window 0-300 s and at least 1 s for a batch over 10, maximum concurrency 2-1,000; and, as Lambda does, a
  mapping whose function's role may not receive from, delete from or read the attributes of its queue is
  refused ("The provided execution role does not have permissions to call ReceiveMessage on SQS").

The Lambda developer guide documents these: "Using Lambda with Amazon SQS" (scaling, batching window,
maximum concurrency) and the UpdateEventSourceMapping API reference (states).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError, ValidationException
from moto.sqs.models import Queue

from local.lambda_service.pollers import MappingSettings, QueuePoller

# With no ScalingConfig, Lambda starts five concurrent batches and adds more with the backlog (up to 1,000).
# Locally each concurrent batch is a process, so an unbounded mapping keeps Lambda's starting five.
UNBOUNDED_CONCURRENCY = 5
MAX_BATCHING_WINDOW_SECONDS = 300
PollerFactory = Callable[[Any, MappingSettings], QueuePoller | None]


class MappingNotFound(LambdaClientError):
    code = 404

    def __init__(self) -> None:
        super().__init__("ResourceNotFoundException", "The resource you requested does not exist.")


def reserved_concurrency(esm: Any) -> int | None:
    """The reserved concurrency of the mapping's function (None: none, or no such function)."""
    try:
        backend = lambda_models.lambda_backends[esm.account_id][esm.region]
        found = backend.get_function(esm.function_arn.rsplit(":", 1)[-1])
    except Exception:  # moto's UnknownFunctionException: the poller reports the missing function itself
        return None
    return None if found.reserved_concurrency is None else int(found.reserved_concurrency)


def settings_of(esm: Any) -> MappingSettings:
    """A moto EventSourceMapping's settings as the pollers take them (capped by the function's reserved
    concurrency)."""
    maximum = (esm.scaling_config or {}).get("MaximumConcurrency")
    concurrency = int(maximum) if maximum else UNBOUNDED_CONCURRENCY
    reserved = reserved_concurrency(esm)
    return MappingSettings(enabled=bool(esm.enabled), batch_size=int(esm.batch_size),
                           batching_window_seconds=float(esm.max_batch_window or 0),
                           max_concurrency=concurrency if reserved is None else min(concurrency, reserved),
                           report_batch_item_failures="ReportBatchItemFailures" in (esm.function_response_types
                                                                                     or []))


def check(spec: dict[str, Any], current: Any = None) -> None:
    """Lambda's own checks of an SQS mapping's settings (moto makes only some of them)."""
    fifo = str(spec.get("EventSourceArn") or getattr(current, "event_source_arn", "")).endswith(".fifo")
    batch = spec.get("BatchSize", getattr(current, "batch_size", None) if current else None)
    window = spec.get("MaximumBatchingWindowInSeconds", getattr(current, "max_batch_window", None) if current
                      else None)
    if batch is not None:
        if not isinstance(batch, int) or batch < 1:
            raise ValidationException(str(batch), "batchSize", "Member must have value greater than or equal to 1")
        if batch > (10 if fifo else 10_000):
            raise InvalidParameterValueException(f"BatchSize {batch} exceeds the max of {10 if fifo else 10_000}")
    if window is not None and not (isinstance(window, int) and 0 <= window <= MAX_BATCHING_WINDOW_SECONDS):
        raise ValidationException(str(window), "maximumBatchingWindowInSeconds",
                                  f"Member must have value less than or equal to {MAX_BATCHING_WINDOW_SECONDS}")
    if batch is not None and batch > 10 and not fifo and not window:
        raise InvalidParameterValueException("Maximum batch window in seconds must be greater than 0 if maximum "
                                             "batch size is greater than 10")
    maximum = (spec.get("ScalingConfig") or {}).get("MaximumConcurrency")
    if maximum is not None and not (isinstance(maximum, int) and 2 <= maximum <= 1000):
        raise ValidationException(str(maximum), "scalingConfig.maximumConcurrency",
                                  "Member must have value between 2 and 1000")


class MappingService:
    """The pollers of every mapping, kept in step with moto's mappings."""

    def __init__(self, on_error: Callable[[str], None] | None = None) -> None:
        self.lock = threading.Lock()
        self.pollers: dict[str, QueuePoller] = {}
        self.factory: PollerFactory | None = None  # set once the stack is deployed (start())
        self.waiting: list[Any] = []  # mappings created before that
        self.on_error = on_error
        # (function name, queue ARN) -> Lambda's refusal when the function's role may not poll the queue
        self.role_refusal: Callable[[str, str], str | None] = lambda function, queue: None

    def start(self, factory: PollerFactory) -> None:
        """Run every mapping created so far, and every mapping created from now on."""
        with self.lock:
            self.factory, waiting, self.waiting = factory, self.waiting, []
        for esm in waiting:
            self.created(esm)

    def created(self, esm: Any) -> None:
        with self.lock:
            if self.factory is None:
                self.waiting.append(esm)
                return
            factory = self.factory
        poller = factory(esm, settings_of(esm))
        if poller is None:
            return
        with self.lock:
            self.pollers[esm.uuid] = poller
        poller.start()

    def updated(self, esm: Any) -> None:
        poller = self.pollers.get(esm.uuid)
        if poller is not None:
            poller.apply(settings_of(esm))

    def deleted(self, uuid: str) -> None:
        with self.lock:
            poller = self.pollers.pop(uuid, None)
        if poller is not None:
            threading.Thread(target=poller.stop, daemon=True, name=f"delete-{uuid}").start()

    def state(self, uuid: str) -> str:
        poller = self.pollers.get(uuid)
        return poller.state if poller is not None else "Creating"

    def stop(self) -> None:
        with self.lock:
            pollers = list(self.pollers.values())
        for poller in pollers:  # every poller told first, then each waited for
            poller.signal_stop()
        for poller in pollers:
            poller.stop()


_installed: dict[str, Any] = {}


def install(service: MappingService) -> None:
    """Route moto's mapping calls through `service` (the process has one local cloud: one service)."""
    if _installed:
        _installed["service"] = service
        return
    _installed["service"] = service
    backend, esm_class = lambda_models.LambdaBackend, lambda_models.EventSourceMapping
    originals = {"create": backend.create_event_source_mapping, "update": backend.update_event_source_mapping,
                 "delete": backend.delete_event_source_mapping, "configuration": esm_class.get_configuration,
                 "put_concurrency": backend.put_function_concurrency,
                 "delete_concurrency": backend.delete_function_concurrency,
                 "queue_mappings": Queue.__dict__.get("lambda_event_source_mappings")}
    _installed["originals"] = originals

    def create(self: Any, spec: dict[str, Any]) -> Any:
        check(spec)
        refusal = _installed["service"].role_refusal(str(spec.get("FunctionName", "")), str(spec.get("EventSourceArn")))
        if refusal:
            raise InvalidParameterValueException(refusal)
        esm = originals["create"](self, spec)
        _installed["service"].created(esm)
        return esm

    def update(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        current = self.get_event_source_mapping(uuid)
        if current is None:
            raise MappingNotFound()
        check(spec, current)
        esm = originals["update"](self, uuid, spec)
        _installed["service"].updated(esm)
        return esm

    def delete(self: Any, uuid: str) -> Any:
        esm = originals["delete"](self, uuid)
        if esm is None:
            raise MappingNotFound()
        _installed["service"].deleted(uuid)
        return esm

    def concurrency_changed(self: Any, function_name: str) -> None:
        arn = self.get_function(function_name).function_arn
        for esm in list(self._event_source_mappings.values()):
            if esm.function_arn == arn:
                _installed["service"].updated(esm)

    def put_concurrency(self: Any, function_name: str, reserved: Any) -> Any:
        answer = originals["put_concurrency"](self, function_name, reserved)
        concurrency_changed(self, function_name)
        return answer

    def delete_concurrency(self: Any, function_name: str) -> Any:
        answer = originals["delete_concurrency"](self, function_name)
        concurrency_changed(self, function_name)
        return answer

    def configuration(self: Any) -> dict[str, Any]:
        answer = dict(originals["configuration"](self))
        answer.update(State=_installed["service"].state(self.uuid), StateTransitionReason="USER_INITIATED")
        return answer

    backend.create_event_source_mapping = create  # type: ignore[method-assign]
    backend.update_event_source_mapping = update  # type: ignore[method-assign]
    backend.delete_event_source_mapping = delete  # type: ignore[method-assign]
    esm_class.get_configuration = configuration  # type: ignore[method-assign]
    backend.put_function_concurrency = put_concurrency  # type: ignore[method-assign]
    backend.delete_function_concurrency = delete_concurrency  # type: ignore[method-assign]
    # moto's SQS trigger (Docker) iterates this on every send: it is always empty here.
    Queue.lambda_event_source_mappings = property(lambda queue: {}, lambda queue, value: None)  # type: ignore


def uninstall() -> None:
    if not _installed:
        return
    originals = _installed.pop("originals")
    backend, esm_class = lambda_models.LambdaBackend, lambda_models.EventSourceMapping
    backend.create_event_source_mapping = originals["create"]  # type: ignore[method-assign]
    backend.update_event_source_mapping = originals["update"]  # type: ignore[method-assign]
    backend.delete_event_source_mapping = originals["delete"]  # type: ignore[method-assign]
    esm_class.get_configuration = originals["configuration"]  # type: ignore[method-assign]
    backend.put_function_concurrency = originals["put_concurrency"]  # type: ignore[method-assign]
    backend.delete_function_concurrency = originals["delete_concurrency"]  # type: ignore[method-assign]
    if originals["queue_mappings"] is None:
        del Queue.lambda_event_source_mappings
    else:
        Queue.lambda_event_source_mappings = originals["queue_mappings"]
    _installed.clear()
