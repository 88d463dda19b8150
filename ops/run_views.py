"""Rich views of what a run proved: `send`'s summary, a reconciliation, a smoke test, a drill's timeline
and verdict. Each is a verdict (green or red) on rides that were sent, where ops/views.py shows the
stack as it stands; both draw their cells with the same helpers (ops/views.py).
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ops.drill_model import DrillResult, Step
from ops.reconcile import Reconciliation
from ops.smoke import SmokeReport
from ops.views import NONE, shown, without_stack, yes_cell


def send_summary(summary: dict[str, Any]) -> Table:
    table = Table(title=f"Sent {summary['sent']:,} requests via {summary['via']}"
                        + (" (interrupted)" if summary["interrupted"] else ""), show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    latency = summary["latency_ms"]
    for name, value in (
            ("accepted", f"{summary['accepted']:,}"), ("rejected (4xx)", f"{summary['rejected']:,}"),
            ("failed (5xx, no answer)", f"{summary['failed']:,}"),
            ("invalid requests sent", f"{summary['invalid_sent']:,}"),
            *([("poison published (--via topic)", f"{summary['poison']:,}")] if summary["via"] == "topic" else []),
            ("unexpected answers", f"{summary['unexpected']:,}"),
            ("statuses", ", ".join(f"{n} x {s}" for s, n in summary["statuses"].items())),
            ("retries", f"{summary['retries']:,}"), ("elapsed", f"{summary['elapsed_seconds']:.1f} s"),
            ("achieved rate", f"{summary['achieved_rate']:.1f} requests/s"),
            ("latency p50 / p95 / p99", f"{latency['p50']:.0f} / {latency['p95']:.0f} / {latency['p99']:.0f} ms")):
        table.add_row(name, value)
    return table


def reconciliation_table(result: Reconciliation, extra: dict[str, dict[str, str]] | None = None) -> Table:
    """One row per service; for a service with accounts, customers charged twice or missed (named under it)."""
    extra = extra or {}
    columns = ["service", "expected", "processed", "in DLQ", "poison", "lost", "astray", "double charged",
               "missed charges", *next(iter(extra.values()), {}).keys()]
    caption = ["Rides table: " + ", ".join(f"{n:,} {status}" for status, n in sorted(result.rides_status.items()))]
    table = Table(title=f"Reconciliation of {result.accepted:,} accepted rides")
    for name in columns:
        table.add_column(name, justify="left" if name == "service" else "right")
    bad = "bold red"
    for s in result.services:
        charges: list[Text | str] = ["-", "-"]  # no accounts
        if s.accounts is not None:
            charges = [Text(str(len(problems)), style=bad if problems else "green")
                       for problems in (s.accounts.double_charges, s.accounts.missed_charges)]
            caption.append(f"{s.service} accounts: {s.accounts.customers:,} customers, "
                           f"{s.accounts.charged_rides:,} rides charged once each" if s.accounts.ok else
                           f"{s.service} accounts: {s.accounts.customers:,} customers, some OFF:")
            for p in [*s.accounts.double_charges, *s.accounts.missed_charges]:
                caption.append(f"  {'DOUBLE charge' if p.kind == 'double' else 'MISSED charge'}: customer "
                               f"{p.customer!r} balance {p.balance} for {p.rides} rides, expected "
                               f"{p.expected_balance} for {p.expected_rides}; rides: "
                               f"{', '.join(p.ride_ids) or 'not identified'}")
        table.add_row(s.service, shown(s.expected, "{}"), str(s.processed), str(s.in_dlq), str(s.poison),
                      Text(str(s.lost), style=bad if s.lost else "green"),
                      Text(str(s.astray), style=bad if s.astray else "green"), *charges,
                      *extra.get(s.service, {}).values())
    table.caption = "\n".join(caption)
    return table


def smoke_table(report: SmokeReport) -> Table:
    table = Table(title=f"Smoke test of {report.stack} ({report.target}): {'PASSED' if report.ok else 'FAILED'} "
                        f"in {report.seconds:.1f} s")
    for name in ("check", "ok", "detail"):
        table.add_column(name, overflow="fold")
    for check in report.checks:
        table.add_row(check.name, yes_cell(check.ok), check.detail)
    return table


def drill_step(step: Step, stack_name: str = "") -> Text:
    """One line of a drill's timeline: elapsed time, a mark, the step, what happened."""
    mark = Text("\u2713 ", style="green") if step.ok else Text("\u2717 ", style="bold red")
    name = step.name.replace(f" {stack_name}-", " ", 1) if stack_name else step.name  # alarms without the prefix
    style = "bold red" if step.name.startswith("ALARM") else "green" if step.name.startswith("OK ") else "bold"
    return Text.assemble(Text(f"{step.elapsed:7.1f} s  ", style="dim"), mark, Text(name, style=style),
                         Text(f"  {step.detail}" if step.detail else ""))


def drill_summary(result: DrillResult) -> Group:
    """After the timeline: each alarm that fired, and the verdict."""
    table = Table(title=f"Drill {result.scenario}" + (f" on {result.service}" if result.service else "")
                  + f" ({result.stack}, {result.target}): " + ("PASSED" if result.passed else "FAILED"),
                  caption=None if result.time_scale == 1 else
                  f"times in real seconds; the local cloud's clock runs {1 / result.time_scale:g}x faster")
    for name in ("alarm", "metric", "expected", "to ALARM", "to OK", "notified"):
        table.add_column(name, justify="right" if name.startswith("to") else "left")
    told = {(n["alarm"], n["state"]) for n in result.notifications}
    for alarm in result.alarms_fired:
        table.add_row(without_stack(alarm.name, result.stack), alarm.metric, yes_cell(alarm.expected),
                      shown(alarm.seconds_to_alarm, "{:g} s"), shown(alarm.seconds_to_ok, "{:g} s"),
                      ", ".join(s for s in ("ALARM", "OK") if (alarm.name, s) in told) or NONE)
    verdict = Text(f"{result.rides_sent} rides sent, lost {shown(result.lost, '{}')}, in a DLQ "
                   f"{shown(result.in_dlq, '{}')}; {result.elapsed_seconds:g} s"
                   + (f"; {result.reason}" if result.reason else ""), style="green" if result.passed else "bold red")
    return Group(table, verdict)
