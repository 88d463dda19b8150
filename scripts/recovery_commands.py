"""`wildrydes dlq list | show | redrive` and `wildrydes rides pending | republish`: what did not get through.

Dead letters go back to their service queue (ops/dlq.py); rides stored PENDING but never published
(the producer's 503) are published as the producer would have (ops/pending_rides.py). Two command
groups of the same kind of work: recovery, after the cause is fixed.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ops import dlq as dlq_ops
from ops import pending_rides, views
from ops.errors import CheckFailed
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

dlq_app = typer.Typer(no_args_is_help=True, help="Dead-letter queues: list, show, redrive.")
rides_app = typer.Typer(no_args_is_help=True, help="Rides stuck PENDING in the Rides table.")


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dlq")
    app.add_typer(rides_app, name="rides")


# -- dlq ----------------------------------------------------------------------------------------------------
ServiceArgument = Annotated[str | None, typer.Argument(help="Service name (default: every service).")]


@dlq_app.command("list", epilog="Examples:  wildrydes dlq list --target local   |   wildrydes dlq list "
                                "ExtraordinaryRides --json")
@handles_errors
def dlq_list(
    service: ServiceArgument = None,
    limit: Annotated[int, typer.Option(help="At most this many messages per DLQ.")] = 100,
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """List DLQ messages (ride id, body excerpt, receive count, first failure) without consuming them."""
    where = target_of(target, stack, region, endpoints)
    letters = dlq_ops.list_dead_letters(where, where.selected(service), limit=limit)
    print_json([letter.row() for letter in letters]) if as_json else out.print(views.dead_letter_table(letters))


@dlq_app.command("show", epilog="Example:  wildrydes dlq show 7d0c…  (a message id or a ride id)")
@handles_errors
def dlq_show(
    key: Annotated[str, typer.Argument(help="Message id or ride id.")],
    service: ServiceArgument = None,
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """Show one DLQ message in full (body, attributes), leaving it in its DLQ."""
    where = target_of(target, stack, region, endpoints)
    letter = dlq_ops.find_dead_letter(where, where.selected(service), key)
    if as_json:
        print_json(letter.full())
        return
    full = letter.full()
    for name in ("service", "queue", "message_id", "ride_id", "receive_count", "first_failure"):
        out.print(f"[bold]{name}:[/] {full[name]}", highlight=False)
    out.print("[bold]attributes:[/]", full["attributes"], highlight=False)
    out.print("[bold]message attributes:[/]", full["message_attributes"], highlight=False)
    out.print("[bold]body:[/]")
    try:
        out.print_json(letter.body)
    except ValueError:
        out.print(letter.body, markup=False, highlight=False)


@dlq_app.command("redrive", epilog="Examples:  wildrydes dlq redrive --target local   |   wildrydes dlq redrive "
                                   "CustomerAccounting --rate 50")
@handles_errors
def dlq_redrive(
    service: ServiceArgument = None,
    rate: Annotated[int | None, typer.Option(help="Messages per second for the move task (1-500; default: "
                                                  "as fast as SQS chooses).")] = None,
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """Move DLQ messages back to the service queue: a message move task for the queue's DLQ, send-then-delete
    for the subscription DLQ (SQS refuses move tasks from DLQs of SNS subscriptions)."""
    where = target_of(target, stack, region, endpoints)
    tasks: dict[tuple[str, str], Any] = {}
    with progress(err) as bar:
        def advance(service_name: str, kind: str, moved: int, total: int) -> None:
            key = (service_name, kind)
            if key not in tasks:
                tasks[key] = bar.add_task(f"{service_name} {kind}", total=total)
            bar.update(tasks[key], completed=moved, total=total)
        results = dlq_ops.redrive(where, where.selected(service), rate=rate, on_progress=advance)
    print_json([vars(r) for r in results]) if as_json else out.print(views.redrive_table(results))
    failed = [r for r in results if r.status not in ("COMPLETED", "EMPTY")]
    if failed:
        raise CheckFailed("; ".join(f"{r.service} {r.kind}: {r.status} {r.detail or ''}".strip() for r in failed))


# -- rides --------------------------------------------------------------------------------------------------
OlderThan = Annotated[float, typer.Option(
    "--older-than", help="Only rides created at least this many seconds ago (a request in flight is not stranded).")]


@rides_app.command("pending", epilog="Example:  wildrydes rides pending --target local --older-than 0")
@handles_errors
def rides_pending(
    older_than: OlderThan = pending_rides.DEFAULT_MIN_AGE_SECONDS,
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """List rides stored PENDING: accepted by the first write, never published (the client got a 503)."""
    where = target_of(target, stack, region, endpoints)
    found = pending_rides.pending(where, min_age_seconds=older_than)
    print_json([r.row() for r in found]) if as_json else out.print(views.pending_table(found))


@rides_app.command("republish", epilog="Example:  wildrydes rides republish --target local")
@handles_errors
def rides_republish(
    older_than: OlderThan = pending_rides.DEFAULT_MIN_AGE_SECONDS,
    target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
    endpoints: EndpointsOption = None, as_json: JsonOption = False,
) -> None:
    """Publish each PENDING ride to the topic as the producer would, then mark it PUBLISHED."""
    where = target_of(target, stack, region, endpoints)
    results = pending_rides.republish(where, pending_rides.pending(where, min_age_seconds=older_than))
    print_json([vars(r) for r in results]) if as_json else out.print(views.republish_table(results))
    if any(r.message_id is None for r in results):
        raise CheckFailed("some rides could not be published (see the table)")
