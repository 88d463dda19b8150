"""`wildrydes`: operate the stack, local (`--target local`) or deployed (`--target aws`, the default).

A thin Typer layer over ops/ (where the logic and its tests are): parse options, call one function,
print a Rich table or `--json`. Every user error is one line on stderr and a non-zero exit.

Commands from other modules are one line each (preflight and review, at the end).
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live

from ops import plan as plan_ops
from ops import run_views, views
from ops.errors import CheckFailed
from ops.reconcile import reconcile as reconcile_rides
from ops.send import SendOptions
from ops.send import send as send_rides
from ops.send_report import outcome_dicts, read_accepted, write_accepted
from ops.smoke import run_smoke
from ops.target import ROOT, default_stack_name
from ops.watch import snapshot as take_snapshot
from scripts import drill_command, mapping_commands, permissions_command, recovery_commands
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
    progress,
    target_of,
)
from scripts.preflight_command import preflight
from scripts.review import review

app = typer.Typer(name="wildrydes", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode="rich", help=__doc__.split("\n\n")[0])
recovery_commands.register(app)
mapping_commands.register(app)
drill_command.register(app)
permissions_command.register(app)

# -- send ---------------------------------------------------------------------------------------------------
@app.command(epilog="Examples:  wildrydes send 500 --target local   |   wildrydes send --duration 60 --rate 20 "
                    "--out rides.jsonl   |   wildrydes send 1000 --via topic --invalid 0.01 --json")
@handles_errors
def send(
    rides: Annotated[int | None, typer.Argument(
        help="Requests to send (default 100; with --duration: no limit).")] = None,
    duration: Annotated[float | None, typer.Option(help="Send for this many seconds.")] = None,
    rate: Annotated[float | None, typer.Option(help="Requests per second (default: as fast as answers come).")] = None,
    concurrency: Annotated[int, typer.Option(help="Concurrent clients.")] = 16,
    via: Annotated[str, typer.Option(help="api: POST to the API; topic: publish straight to the topic.")] = "api",
    extraordinary: Annotated[float, typer.Option(help="Share of valid rides above the filter.")] = 0.3,
    invalid: Annotated[float, typer.Option(help="Share of requests that are invalid (400s; poison via topic).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the ride mix (same seed, same rides).")] = 7,
    retries: Annotated[int, typer.Option(help="Retries of a 429/5xx/no answer, with backoff.")] = 5,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write accepted rides (id, fare, distance) as "
                                                                 "JSON lines, for `wildrydes reconcile`.")] = None,
    outcomes: Annotated[bool, typer.Option("--outcomes", help="With --json: include every request's outcome.")] = False,
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """Send rides: N requests (or for --duration) at --rate with --concurrency clients; a summary."""
    options = SendOptions(rides=rides if rides is not None or duration is not None else 100, duration=duration,
                          rate=rate, concurrency=concurrency, via=via, extraordinary_share=extraordinary,
                          invalid_share=invalid, seed=seed, retries=retries)
    options.check()
    where = target_of(target, stack, region, endpoints)
    with progress(err) as bar:
        task = bar.add_task(f"sending to {where.describe()}", total=options.rides)
        report = send_rides(where, options, on_outcome=lambda _: bar.advance(task))
    summary = report.summary()
    if out_file is not None:
        summary["accepted_file"] = str(out_file)
        write_accepted(out_file, report)
    if as_json:
        print_json({**summary, **({"outcomes": outcome_dicts(report)} if outcomes else {})})
    else:
        out.print(run_views.send_summary(summary))
        if out_file is not None:
            out.print(f"Accepted rides written to {out_file} (wildrydes reconcile {out_file})")
    if summary["accepted"] == 0 and summary["sent"] > summary["invalid_sent"]:
        raise CheckFailed("no ride was accepted") from None


# -- watch --------------------------------------------------------------------------------------------------
@app.command(epilog="Examples:  wildrydes watch --target local   |   wildrydes watch --once --json")
@handles_errors
def watch(
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 2.0,
    window: Annotated[int, typer.Option(help="Minutes of CloudWatch data for invocations/concurrency.")] = 5,
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """Per service: queue waiting / in flight / oldest, DLQ depths, consumer activity, alarms. Ctrl-C stops."""
    where = target_of(target, stack, region, endpoints)
    if once:
        current = take_snapshot(where, window_minutes=window)
        print_json(current.as_dict()) if as_json else out.print(views.watch_view(current))
        return
    stop = threading.Event()
    try:
        if as_json:  # one JSON object per line
            while True:
                sys.stdout.write(json.dumps(take_snapshot(where, window_minutes=window).as_dict()) + "\n")
                sys.stdout.flush()
                stop.wait(interval)
        with Live(views.watch_view(take_snapshot(where, window_minutes=window)), console=out,
                  auto_refresh=False) as live:
            while not stop.wait(interval):
                live.update(views.watch_view(take_snapshot(where, window_minutes=window)), refresh=True)
    except KeyboardInterrupt:
        return


# -- plan ---------------------------------------------------------------------------------------------------
@app.command(epilog="Examples:  wildrydes plan --concurrency 10 --batch-size 1 --seconds-per-batch 5 --backlog 50000"
                    "   |   wildrydes plan --concurrency 100 --batch-size 10 --parallel 10 --seconds-per-batch 5 "
                    "--backlog 50000   |   wildrydes plan --rate 200 --share ExtraordinaryRides=0.3 --json")
@handles_errors
def plan(
    rate: Annotated[float | None, typer.Option(help="Rides per second (default: the API stage's rate limit).")] = None,
    seconds_per_batch: Annotated[float, typer.Option(help="Seconds an invocation takes for its batch (with "
                                                          "--parallel: for one round of P records).")] = 1.0,
    parallel: Annotated[int | None, typer.Option(help="Records the handler processes at once within a batch.")] = None,
    backlog: Annotated[int | None, typer.Option(help="Messages waiting: how long to drain them.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Override every service's maximum concurrency.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Override every service's batch size.")] = None,
    groups: Annotated[int | None, typer.Option(help="FIFO: customers with rides waiting (a FIFO queue runs one "
                                                    "batch per customer at a time).")] = None,
    producer_seconds: Annotated[float, typer.Option(help="Producer Lambda seconds per ride (for cost).")] = 0.1,
    share: Annotated[list[str] | None, typer.Option(help="SERVICE=FRACTION of rides its filter passes "
                                                         "(default 1); repeatable.")] = None,
    template: Annotated[Path | None, typer.Option(help="Synthesized template (default cdk.out/<stack>.template."
                                                       "json).")] = None,
    prices: Annotated[Path, typer.Option(help="Price table.")] = plan_ops.PRICES_FILE,
    stack: StackOption = None, as_json: JsonOption = False,
) -> None:
    """Throughput, drain time, AWS guidance and cost per million rides, from the synthesized template."""
    assumptions = plan_ops.Assumptions(
        seconds_per_batch=seconds_per_batch, parallel=parallel, backlog=backlog, rate=rate,
        producer_seconds=producer_seconds, shares=plan_ops.parse_shares(share or []), concurrency=concurrency,
        batch_size=batch_size, groups=groups)
    path = template or ROOT / "cdk.out" / f"{stack or default_stack_name()}.template.json"
    result = plan_ops.make_plan(path, assumptions, plan_ops.load_prices(prices))
    if as_json:
        print_json(result.as_dict())
        return
    for table in views.plan_tables(result):
        out.print(table)
    for s in result.services:
        for warning in s.warnings:
            out.print(f"[yellow]warning:[/] {s.service}: {warning}", highlight=False)


# -- reconcile and smoke --------------------------------------------------------------------------------------
@app.command(epilog="Example:  wildrydes send 200 --target local --out rides.jsonl && wildrydes reconcile "
                    "rides.jsonl --target local")
@handles_errors
def reconcile(
    rides_file: Annotated[Path, typer.Argument(help="Accepted rides, JSON lines (wildrydes send --out).")],
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """Account for every accepted ride in every service: expected, processed, in DLQ, lost, astray."""
    where = target_of(target, stack, region, endpoints)
    result = reconcile_rides(where, read_accepted(rides_file))
    print_json(result.as_dict()) if as_json else out.print(run_views.reconciliation_table(result))
    if not result.ok:
        raise CheckFailed("some rides are lost or astray")


@app.command(epilog="Examples:  make smoke   |   make smoke TARGET=local   |   wildrydes smoke --target local --json")
@handles_errors
def smoke(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the rides to reach their tables.")] = 60.0,
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """Prove a stack works: the workshop's rides each in exactly their tables, DLQs empty, no alarm firing."""
    where = target_of(target, stack, region, endpoints)

    shown: list[int] = []

    def waiting(found: int, wanted: int, elapsed: float) -> None:
        line = f"waiting for the rides in their tables: {found}/{wanted} ({elapsed:.0f} s)"
        if err.is_terminal:
            status.update(line)
        elif not shown or shown[-1] != found:  # a line per step when not on a terminal
            err.print(line, highlight=False)
        shown.append(found)

    with err.status("posting the smoke rides") as status:
        report = run_smoke(where, timeout=timeout, on_wait=waiting)
    print_json(report.as_dict()) if as_json else out.print(run_views.smoke_table(report))
    if not report.ok:
        raise typer.Exit(1)


# The same code as `make preflight` and `make review`, as commands of this tool.
app.command("preflight", help="Check that the account of your credentials is ready for a deploy.")(preflight)
app.command("review", help="Review the synthesized template (diagram, flows, permissions, findings, changes).")(
    review)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
