"""`wildrydes pause | resume | mappings`: a subscriber offline for maintenance, through the Lambda API.

The same calls on AWS and on the local cloud (ops/mappings.py): `aws lambda update-event-source-mapping
--no-enabled / --enabled` on the mapping from the service's queue to its consumer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ops import mappings, views
from scripts.cli import (
    EndpointsOption,
    JsonOption,
    RegionOption,
    StackOption,
    TargetOption,
    err,
    handles_errors,
    out,
    print_json,
    target_of,
)

ServiceArgument = Annotated[str, typer.Argument(help="The subscriber service, e.g. CustomerAccounting.")]
WaitOption = Annotated[float, typer.Option("--wait", help="Seconds to wait for the mapping to settle.")]


def _switch(enabled: bool, service: str, wait: float, target: str, stack: str | None, region: str | None,
            endpoints: Path | None, as_json: bool) -> None:
    where = target_of(target, stack, region, endpoints)
    with err.status(f"{'enabling' if enabled else 'disabling'} the mapping of {service}") as status:
        states = mappings.set_enabled(where, [where.service(service)], enabled, wait_seconds=wait,
                                      on_wait=lambda s: status.update(f"{s.service}: {s.state}"))
    print_json([s.row() for s in states]) if as_json else out.print(views.mapping_table(states))


def register(app: typer.Typer) -> None:
    @app.command(epilog="Example:  wildrydes pause CustomerAccounting --target local")
    @handles_errors
    def pause(service: ServiceArgument, wait: WaitOption = mappings.DEFAULT_WAIT_SECONDS,
              target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
              endpoints: EndpointsOption = None, as_json: JsonOption = False) -> None:
        """Take a subscriber offline: disable its event source mapping; its queue keeps every ride."""
        _switch(False, service, wait, target, stack, region, endpoints, as_json)

    @app.command(epilog="Example:  wildrydes resume CustomerAccounting --target local")
    @handles_errors
    def resume(service: ServiceArgument, wait: WaitOption = mappings.DEFAULT_WAIT_SECONDS,
               target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
               endpoints: EndpointsOption = None, as_json: JsonOption = False) -> None:
        """Bring a subscriber back: enable its event source mapping; its queue drains."""
        _switch(True, service, wait, target, stack, region, endpoints, as_json)

    @app.command("mappings", epilog="Example:  wildrydes mappings --target local --json")
    @handles_errors
    def list_mappings(target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
                      endpoints: EndpointsOption = None, as_json: JsonOption = False) -> None:
        """Each subscriber's event source mapping: state, batch size, window, maximum concurrency."""
        where = target_of(target, stack, region, endpoints)
        states = mappings.states(where, where.services)
        print_json([s.row() for s in states]) if as_json else out.print(views.mapping_table(states))
