"""A subscriber taken offline for maintenance, and back: its event source mapping, through the Lambda API.

The lab's own story. On AWS and on the local cloud alike, `pause` is `UpdateEventSourceMapping
Enabled=false` on the mapping from the service's queue to its consumer (found with
ListEventSourceMappings by the consumer's name, from the stack outputs), and `resume` is `Enabled=true`.
While a mapping is disabled its queue keeps every ride SNS delivers; nothing is lost, nothing goes to a
DLQ. Both wait until the mapping reports the state asked for (`Disabled` / `Enabled`), which takes
seconds on AWS and under one locally.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ops.errors import OpsError
from ops.services import Service, queue_arn
from ops.target import Target

SETTLED = {True: "Enabled", False: "Disabled"}
DEFAULT_WAIT_SECONDS = 120.0  # AWS takes up to a minute or two to settle a mapping's state


@dataclass(frozen=True)
class MappingState:
    service: str
    uuid: str
    state: str
    batch_size: int
    batching_window_seconds: int
    max_concurrency: int | None

    def row(self) -> dict[str, object]:
        return asdict(self)


def find_mapping(target: Target, service: Service) -> dict[str, object]:
    """The event source mapping from the service's queue to its consumer."""
    if not service.function_name:
        raise OpsError(f"the outputs of {target.stack_name} name no consumer function for {service.name}")
    lambda_client = target.client("lambda")
    arn = queue_arn(target.client("sqs"), service.queue_url)
    pages = lambda_client.get_paginator("list_event_source_mappings").paginate(FunctionName=service.function_name)
    found = [m for page in pages for m in page["EventSourceMappings"] if m.get("EventSourceArn") == arn]
    if not found:
        raise OpsError(f"{service.name}: no event source mapping from its queue to {service.function_name}")
    return dict(found[0])


def state_of(service: Service, mapping: dict[str, object]) -> MappingState:
    scaling = mapping.get("ScalingConfig") or {}
    assert isinstance(scaling, dict)
    return MappingState(service=service.name, uuid=str(mapping["UUID"]), state=str(mapping.get("State")),
                        batch_size=int(str(mapping.get("BatchSize", 10))),
                        batching_window_seconds=int(str(mapping.get("MaximumBatchingWindowInSeconds", 0))),
                        max_concurrency=scaling.get("MaximumConcurrency"))


def states(target: Target, services: list[Service]) -> list[MappingState]:
    return [state_of(service, find_mapping(target, service)) for service in services]


def set_enabled(target: Target, services: list[Service], enabled: bool, *, wait_seconds: float = DEFAULT_WAIT_SECONDS,
                on_wait: Callable[[MappingState], None] | None = None,
                sleep: Callable[[float], None] = time.sleep) -> list[MappingState]:
    """Enable or disable each service's mapping; wait until each reports Enabled / Disabled."""
    lambda_client = target.client("lambda")
    uuids = {}
    for service in services:
        uuids[service.name] = str(find_mapping(target, service)["UUID"])
        lambda_client.update_event_source_mapping(UUID=uuids[service.name], Enabled=enabled)
    wanted, waited, result = SETTLED[enabled], 0.0, []
    for service in services:
        while True:
            current = state_of(service, lambda_client.get_event_source_mapping(UUID=uuids[service.name]))
            if current.state == wanted:
                result.append(current)
                break
            if waited >= wait_seconds:
                raise OpsError(f"{service.name}: its mapping is {current.state}, not {wanted}, after "
                               f"{wait_seconds:g} s")
            if on_wait:
                on_wait(current)
            step = 0.1 if target.kind == "local" else 2.0
            sleep(step)
            waited += step
    return result
