"""What tests, the demo and the benchmarks look at and do to a running local cloud, beside the AWS APIs:
each event source mapping's counters (batches per worker, receives per message, peak concurrency), its
problems, a crash of its environments; and, for convenience, pausing a mapping through the Lambda API as
an operator would. A mixin of LocalCloud, which provides the deployment, the endpoint and the clients.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aws_clients.control import ControlClient, ControlError
from local.cloudformation.deployment import Deployment, MappingSpec
from local.lambda_service.mapping_stats import Invocation


class LocalCloudError(RuntimeError):
    """A clear reason the local cloud cannot start (or cannot do what was asked)."""


@dataclass
class MappingSnapshot:
    """One event source mapping as the AWS process counted it (for tests and the demo)."""

    mapping: MappingSpec
    state: str  # the mapping's State, as GetEventSourceMapping reports it
    invocations: list[Invocation]
    received: dict[str, int]
    deleted: set[str]
    message_rides: dict[str, str]
    max_in_flight: int
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ride_ids(self) -> set[str]:
        """Distinct ride ids delivered to this mapping's queue."""
        return set(self.message_rides.values())


class CloudControls:
    deployment: Deployment | None
    aws_endpoint_url: str
    ca_bundle: str
    _control_client: ControlClient | None = None
    clients: Any
    aws: Any
    own_problems: list[str]

    # -- the AWS process's event source mappings ----------------------------------------------------
    @property
    def mappings(self) -> list[MappingSpec]:
        return list(self.deployment.mappings) if self.deployment else []

    def mapping(self, service: str) -> MappingSpec:
        """The mapping whose function's logical id starts with the service name (e.g. "CustomerAccounting")."""
        [found] = [m for m in self.mappings if m.function.logical_id.startswith(service)]
        return found

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        if self._control_client is None:
            self._control_client = ControlClient(self.aws_endpoint_url, self.ca_bundle)
        return self._control_client.call(method, path, body)

    def flush_metrics(self) -> None:
        """Publish what every service counted so far now, not at the next tick (AWS/ApiGateway and the API's
        AWS/Lambda from this process, AWS/SQS, AWS/SNS and the consumers' AWS/Lambda from the AWS process)."""
        publisher = getattr(self, "publisher", None)
        if publisher:
            publisher.flush()
        self._control("POST", "metrics/flush")

    def permissions(self) -> dict[str, Any]:
        """Every IAM decision so far: denied, used, and the stack's grants nobody used."""
        return dict(self._control("GET", "permissions"))

    def status(self) -> dict[str, Any]:
        """Every mapping's counters (invocations, batches per worker, retries, concurrency) and problems."""
        return dict(self._control("GET", "status"))

    def snapshot(self, service: str) -> MappingSnapshot:
        mapping = self.mapping(service)
        detail = self._control("GET", f"mappings/{mapping.function.logical_id}")
        return MappingSnapshot(mapping=mapping, state=detail["state"],
                               invocations=[Invocation(**i) for i in detail["invocation_records"]],
                               received=detail["received"], deleted=set(detail["deleted"]),
                               message_rides=detail["message_rides"], max_in_flight=detail["max_in_flight"],
                               summary=detail)

    def pause(self, service: str) -> None:
        """Disable the service's mapping through the Lambda API, as an operator would; return once Disabled."""
        self._set_enabled([self.mapping(service)], False)

    def resume(self, service: str | None = None) -> None:
        """Enable the service's mapping (every mapping when none is named); return once Enabled."""
        self._set_enabled(self.mappings if service is None else [self.mapping(service)], True)

    def _set_enabled(self, mappings: list[MappingSpec], enabled: bool, timeout: float = 10.0) -> None:
        lambda_client = self.clients.client("lambda")
        for mapping in mappings:
            lambda_client.update_event_source_mapping(UUID=mapping.uuid, Enabled=enabled)
        wanted, deadline = "Enabled" if enabled else "Disabled", time.monotonic() + timeout
        for mapping in mappings:
            while lambda_client.get_event_source_mapping(UUID=mapping.uuid)["State"] != wanted:
                if time.monotonic() > deadline:
                    raise LocalCloudError(f"the mapping of {mapping.function.logical_id} is not {wanted} after "
                                          f"{timeout:g} s")
                time.sleep(0.02)

    def kill_environments(self, service: str) -> int:
        """Crash every execution environment of the service's consumer (they cold-start again)."""
        return int(self._control("POST", f"mappings/{self.mapping(service).function.logical_id}"
                                         "/kill-environments")["result"])

    @property
    def errors(self) -> list[str]:
        """Problems seen so far: import errors, timeouts, settle failures (also printed on stderr). An AWS process
        that no longer answers is a problem too, never an empty list: a dead process has not proved anything."""
        try:
            remote = list(self.status()["problems"]) if self.aws else []
        except ControlError as error:
            remote = [f"the AWS process does not answer its status endpoint: {error}"]
        return remote + self.own_problems
