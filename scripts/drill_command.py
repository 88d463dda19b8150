"""`wildrydes drill SCENARIO`: a game day against the local cloud or the deployed stack (ops/drill.py).

Thin on purpose: it asks for confirmation, prints each step as it happens (or one JSON object), and
exits 0 only if the drill passed (1: it failed and was rolled back; 130: Ctrl-C, rolled back).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ops import run_views
from ops.drill import Options, Runner, confirm
from ops.drill_model import Step
from ops.drill_scenarios import SCENARIOS
from ops.errors import OpsError
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

HELP = "\n\n".join(
    ["Break one thing on purpose; prove the expected alarms fire and notify the alarm topic; roll back (always, "
     "Ctrl-C too); prove the alarms recover and no ride is lost. Steps: steady state, injection, alarms, "
     "notification, rollback, recovery, reconcile.",
     *(f"[bold]{s.name}[/]: {s.changes}. On AWS {s.aws_minutes} min." for s in SCENARIOS.values()),
     "On AWS, periods are real minutes (the alarms' evaluation periods plus 1-3 min of CloudWatch delay); on the "
     "local cloud they run on its TIME_SCALE (`make local TIME_SCALE=0.01`: each drill in 10-30 s)."])


def register(app: typer.Typer) -> None:
    @app.command(help=HELP, epilog="Examples:  wildrydes drill poison --target local   |   wildrydes drill "
                                   "subscriber-outage --service CustomerAccounting --yes --json")
    @handles_errors
    def drill(
        scenario: Annotated[str, typer.Argument(help=f"One of: {', '.join(SCENARIOS)}.")],
        service: Annotated[str | None, typer.Option(help="The subscriber service to break (default: the first "
                                                         "in the stack outputs).")] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask (needed without a terminal).")] = False,
        timeout: Annotated[float | None, typer.Option(help="Seconds for each wait (default: from the alarms' "
                                                           "periods, on the cloud's clock).")] = None,
        target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
        endpoints: EndpointsOption = None, as_json: JsonOption = False,
    ) -> None:
        chosen = SCENARIOS.get(scenario)
        if chosen is None:
            raise OpsError(f"no drill {scenario!r}: choose one of {', '.join(SCENARIOS)}")
        where = target_of(target, stack, region, endpoints)
        subscriber = (where.service(service) if service else where.services[0]) if chosen.needs_service else None
        confirm(yes, sys.stdin.isatty(), lambda: typer.confirm(
            f"Drill {chosen.name} on {where.describe()}"
            + (f", service {subscriber.name}" if subscriber else "") + f": {chosen.changes}. Go?", err=True))
        def show(step: Step) -> None:
            out.print(run_views.drill_step(step, where.stack_name))

        runner = Runner(where, chosen, subscriber, Options(timeout=timeout), on_step=None if as_json else show)
        result = runner.run()
        if as_json:
            print_json(result.as_dict())
        else:
            out.print(run_views.drill_summary(result))
        if result.interrupted:
            err.print("interrupted: rolled back")
            raise typer.Exit(130)
        if not result.passed:
            raise typer.Exit(1)
