"""Rich tables for the CLI: one function per command's data, nothing computed here.

The stack as it stands (queues, DLQs, mappings, permissions, pending rides, the plan) is shown here,
with the cell helpers; the verdicts on a run (send, reconcile, smoke, drills) in ops/run_views.py."""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ops.dlq import DeadLetter, RedriveResult
from ops.mappings import MappingState
from ops.pending_rides import PendingRide, Republished
from ops.permissions import Permissions
from ops.plan import Plan, human_duration
from ops.watch import Snapshot

NONE = "\u2013"  # an en dash: no data
PIPE_WIDTH = 150  # tables are wide: when stdout is not a terminal (a pipe, a file, CI), print them this wide


def stdout_console() -> Console:
    return Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)


def shown(value: Any, fmt: str = "{:,.0f}") -> str:
    return NONE if value is None else fmt.format(value)


def yes_cell(ok: bool) -> Text:
    return Text("yes", style="green") if ok else Text("NO", style="bold red")


def _alarm_cell(alarms: dict[str, list[str]]) -> Text:
    if alarms.get("ALARM"):
        return Text("ALARM: " + ", ".join(alarms["ALARM"]), style="bold red")
    counts = [f"{len(names)} {state.lower().replace('_', ' ')}" for state, names in sorted(alarms.items())]
    return Text(", ".join(counts) or NONE, style="green" if alarms else "")


def watch_table(snapshot: Snapshot) -> Table:
    table = Table(title=f"{snapshot.stack} ({snapshot.target}) at {snapshot.time}", caption=(
        f"oldest: age of the oldest message; invocations and concurrency: last {snapshot.window_minutes} min "
        f"(CloudWatch); {NONE}: no data"))
    for name, justify in (("service", "left"), ("waiting", "right"), ("in flight", "right"), ("oldest", "right"),
                          ("DLQ", "right"), ("sub DLQ", "right"), ("invocations", "right"), ("concurrency", "right"),
                          ("alarms", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in snapshot.services:
        dlq_style = "bold red" if (s.dlq or s.subscription_dlq) else ""
        table.add_row(s.service, f"{s.visible:,}", f"{s.in_flight:,}", shown(s.oldest_age_seconds, "{:,.0f} s"),
                      Text(shown(s.dlq), style=dlq_style), Text(shown(s.subscription_dlq), style=dlq_style),
                      shown(s.invocations), shown(s.concurrency), _alarm_cell(s.alarms))
    if snapshot.other_alarms:
        table.add_row("(stack)", "", "", "", "", "", "", "", _alarm_cell(snapshot.other_alarms))
    return table


def transitions_table(snapshot: Snapshot) -> Table:
    table = Table(title="latest alarm state changes", caption=None if snapshot.transitions else "none yet")
    for name in ("time", "alarm", "change", "reason"):
        table.add_column(name, overflow="fold")
    for t in snapshot.transitions:
        style = "bold red" if t.new == "ALARM" else "green" if t.new == "OK" else ""
        table.add_row(t.time, without_stack(t.alarm, snapshot.stack), Text(f"{t.old} -> {t.new}", style=style),
                      t.reason)
    return table


def watch_view(snapshot: Snapshot) -> Group:
    """What `wildrydes watch` shows: the services, then the latest alarm state changes."""
    return Group(watch_table(snapshot), transitions_table(snapshot))


def without_stack(alarm_name: str, stack_name: str) -> str:
    return alarm_name.removeprefix(f"{stack_name}-")


def dead_letter_table(letters: list[DeadLetter]) -> Table:
    table = Table(title=plural(len(letters), "dead letter"), caption=(
        "DLQ: dlq (failed maxReceiveCount times) or sub (SNS could not deliver to the queue); receives include looks "
        "like this one; first failure in UTC; `dlq show` takes a message id prefix"))
    for name in ("service", "DLQ", "message id", "ride id", "receives", "first failure"):
        table.add_column(name, no_wrap=True)
    table.add_column("body", overflow="ellipsis", no_wrap=True, max_width=30)
    for letter in letters:
        row = letter.row()
        failed = row["first_failure"] or NONE
        table.add_row(row["service"], "sub" if row["queue"] == "subscription" else row["queue"],
                      row["message_id"][:8] + "…", row["ride_id"] or NONE, str(row["receive_count"]),
                      failed[5:19].replace("T", " ") if failed != NONE else failed, row["excerpt"])
    return table


def redrive_table(results: list[RedriveResult]) -> Table:
    table = Table(title="Redrive")
    for name in ("service", "DLQ", "moved", "status", "detail"):
        table.add_column(name)
    for r in results:
        style = "green" if r.status in ("COMPLETED", "EMPTY") else "bold red"
        table.add_row(r.service, r.kind, f"{r.moved:,}/{r.to_move:,}", Text(r.status, style=style), r.detail or "")
    return table


def mapping_table(states: list[MappingState]) -> Table:
    table = Table(title="Event source mappings")
    for name in ("service", "state", "batch size", "window (s)", "max concurrency", "UUID"):
        table.add_column(name)
    for s in states:
        style = "green" if s.state == "Enabled" else "yellow" if s.state == "Disabled" else "cyan"
        table.add_row(s.service, Text(s.state, style=style), str(s.batch_size), str(s.batching_window_seconds),
                      shown(s.max_concurrency), s.uuid)
    return table


def permissions_table(found: Permissions, stack_name: str) -> Table:
    """One row per decision: denied (red), used (green), granted and never used (yellow); names shortened."""
    table = Table(title="IAM decisions" + ("" if found.enforced is not False else " (enforcement OFF)"))
    for name in ("", "principal", "action", "resource", "count", "why / which statement"):
        table.add_column(name, justify="right" if name == "count" else "left")
    for mark, style, rows in (("denied", "red", found.denied), ("used", "green", found.used),
                              ("unused", "yellow", found.unused)):
        for row in rows:
            why = row.get("reason") or row.get("last_used") or _named(row.get("statement", ""), stack_name)
            table.add_row(Text(mark, style=style), _named(row["principal"], stack_name), row["action"],
                          _named(row["resource"], stack_name), f"{row['count']:,}" if "count" in row else "", why)
    return table


_GENERATED_SUFFIX = re.compile(r"-[A-Z0-9]{8,13}$")  # CloudFormation's random tail on a generated name


def _named(arn: str, stack_name: str) -> str:
    """The name an ARN ends with, without the stack's prefix and CloudFormation's random tail:
    arn:aws:iam::1:role/Stack-CustomerAccountingConsumer-59THTO0W -> CustomerAccountingConsumer."""
    if not arn.startswith("arn:"):
        return arn
    head, _, sid = arn.partition("#")
    name = re.split(r"[:/]", head)[-1]
    name = _GENERATED_SUFFIX.sub("", name.removeprefix(f"{stack_name}-"))
    return f"{name}#{sid}" if sid else name


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def pending_table(rides: list[PendingRide]) -> Table:
    table = Table(title=f"{plural(len(rides), 'ride')} PENDING (stored, never published)")
    for name in ("id", "created (UTC)", "from", "to", "fare", "distance"):
        table.add_column(name)
    for ride in rides:
        row = ride.row()
        created = NONE if row["created_at"] is None else dt.datetime.fromtimestamp(
            row["created_at"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(row["id"], created, str(row["from"]), str(row["to"]),
                      shown(row["fare"], "{:g}"), shown(row["distance"], "{:g}"))
    return table


def republish_table(results: list[Republished]) -> Table:
    table = Table(title=f"Republished {sum(r.message_id is not None for r in results)} of "
                        f"{plural(len(results), 'ride')}")
    for name in ("id", "message id", "marked PUBLISHED", "error"):
        table.add_column(name)
    for r in results:
        table.add_row(r.id, r.message_id or NONE, yes_cell(r.marked), r.error or "")
    return table


def plan_tables(plan: Plan) -> list[Table]:
    a = plan.assumptions
    per = (f"{a.seconds_per_batch:g} s a round of {a.parallel} records" if a.parallel
           else f"{a.seconds_per_batch:g} s a batch")
    capacity = Table(title="Capacity", caption=(
        f"batch time: {per}; throughput = concurrency x batch / batch time"
        + (f"; rate {a.rate:g} rides/s" if a.rate else "") + (f"; backlog {a.backlog:,}" if a.backlog is not None
                                                               else "")))
    capacity.add_column("service", no_wrap=True)
    for name in ("batch", "window", "max conc.", "batch time", "msg/s", "drain backlog", "conc. for rate",
                 "visibility >= 6xT+W", "maxReceive >= 5"):
        capacity.add_column(name, justify="right")
    for s in plan.services:
        capacity.add_row(
            s.service, str(s.batch_size), f"{s.window_seconds} s", str(s.max_concurrency), f"{s.batch_seconds:g} s",
            f"{s.throughput_per_second:,.1f}", NONE if s.drain_seconds is None else human_duration(s.drain_seconds),
            shown(s.concurrency_needed),
            Text(f"{s.visibility_seconds} >= {s.visibility_minimum}", style="green" if s.visibility_ok else "bold red"),
            Text(shown(s.max_receive_count), style="green" if s.max_receive_count_ok else "bold red"))
    prices = plan.prices
    cost = Table(title="Cost per million rides", caption=(
        f"{prices['currency']} list prices, {prices['region']}, looked up {prices['date']} (ops/prices.toml); "
        "service lines summed over the services (--json: each)"))
    for name in ("item", "quantity", "unit price", "cost"):
        cost.add_column(name, justify="left" if name == "item" else "right")
    merged: dict[str, list[Any]] = {}
    for line in plan.costs:  # one row per item, services summed
        row = merged.setdefault(line.component, [0.0, line.unit, line.unit_price, 0.0, set()])
        row[0] += line.quantity
        row[3] += line.cost
        if line.service:
            row[4].add(line.service)
    for component, (quantity, unit, price, total, services) in merged.items():
        label = f"{component} x {len(services)} services" if len(services) > 1 else component
        per = f"{price * 1e6:,.4g} / million" if unit != "GB-s" else f"{price:.10f}".rstrip("0") + " / GB-s"
        cost.add_row(label, f"{quantity:,.0f} {unit}", per, f"{total:,.4f}")
    cost.add_row(Text("total", style="bold"), "", "", Text(f"{plan.cost_per_million:,.2f}", style="bold"))
    return [capacity, cost]


