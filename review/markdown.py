"""REVIEW.md: the review as GitHub-flavoured Markdown that also reads in a job summary and a terminal.

Order is what a reviewer needs first: the verdict, then what the change does (STRICT failures and
broadened permissions before anything else), then the architecture, message flows, alarms,
permissions and every scanner finding. Long, rarely read parts sit in <details>.
"""

from __future__ import annotations

import re
from collections import defaultdict

from review.changes import Changes
from review.findings import ToolReport
from review.flows import Flow, duration
from review.permissions import Flag, Grant
from review.report import Review, findings_line

_TAG_START = re.compile(r"<(?!br>)(?=[A-Za-z/!?])")


def cell(value: object) -> str:
    """A table cell: pipes escaped, newlines as <br>, and `<Word` (e.g. `<AWS::Partition>`) kept as text."""
    text = "" if value is None else str(value)
    return _TAG_START.sub("&lt;", text.replace("|", "\\|").replace("\n", "<br>")) or " "


def table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return [*lines, ""]


def _flag_text(flags: tuple[Flag, ...]) -> str:
    return "<br>".join(f"⚠️ {f.text}" if not f.acknowledged else f"{f.text} (acknowledged: {f.acknowledged})"
                       for f in flags)


def _changes(changes: Changes, strict: bool) -> list[str]:
    lines = [f"## Changes against `{changes.base_ref}` ({changes.base_commit[:12]})", ""]
    failures = changes.strict_failures
    if failures:
        verdict = "STRICT fails" if strict else "STRICT=1 would fail"
        lines += [f"**{verdict}:**", "", *[f"- ❌ {f}" for f in failures], ""]
    if changes.statements_added or changes.statements_removed:
        title = "IAM and resource policies: **permissions broadened**" if changes.permissions_broadened else \
            "IAM and resource policies"
        rows = [[sign, s.get("resource"), s.get("effect"), s.get("action"), s.get("principal"), s.get("condition")]
                for sign, statements in (("+", changes.statements_added), ("-", changes.statements_removed))
                for s in statements]
        lines += [f"### {title}", "", *table(["", "resource", "effect", "action", "principal", "condition"], rows)]
    moved = [c for c in changes.resources if c.action != "updated"]
    if moved:
        rows = [[c.action + (" (retained in the account)" if c.retained else ""), c.name, c.type,
                 "stateful" if c.stateful else "", f"renamed to {c.renamed_to}" if c.renamed_to else
                 "; ".join(f"{p.path} (forces replacement)" for p in c.properties if p.replaces)]
                for c in moved]
        lines += ["### Resources added, removed or replaced", "",
                  *table(["change", "resource", "type", "", "why"], rows)]
    updated = [(c, p) for c in changes.resources for p in c.properties]
    if updated:
        lines += ["### Property changes", "", *table(
            ["resource", "property", "old -> new"],
            [[c.name, p.path + (" (replaces)" if p.replaces else ""), f"{p.old} -> {p.new}"] for c, p in updated])]
    if not changes.resources and not changes.statements_added and not changes.statements_removed:
        lines += ["No resource or permission changes.", ""]
    contract = changes.contract
    lines += ["### API contract", ""]
    if contract.note:
        lines += [f"Not compared: {contract.note}.", ""]
    elif not contract.breaking and not contract.compatible:
        lines += ["Unchanged.", ""]
    else:
        lines += [*[f"- ❌ breaking: {line}" for line in contract.breaking],
                  *[f"- compatible: {line}" for line in contract.compatible], ""]
    if changes.cdk_diff.strip():
        lines += ["<details><summary>cdk diff (the CDK's own rendering)</summary>", "", "```text",
                  changes.cdk_diff.rstrip(), "```", "", "</details>", ""]
    return lines


def _flows(flows: tuple[Flow, ...]) -> list[str]:
    if not flows:
        return ["No topic-to-queue subscription in this template.", ""]
    header = ["service", "filter policy", "raw", "visibility", "retention", "maxReceiveCount", "DLQ retention",
              "subscription DLQ", "batch", "window", "max concurrency", "timeout", "memory", "alarms"]
    rows = [[f.service, f.filter_policy or "every message", "yes" if f.raw_delivery else "no",
             duration(f.visibility_timeout), duration(f.retention), f.max_receive_count or "none",
             duration(f.dlq_retention) if f.dlq_retention is not None else "none",
             "yes" if f.subscription_dlq else "no", f.batch_size, duration(f.batching_window or 0),
             f.max_concurrency or "none", duration(f.function_timeout), f"{f.function_memory} MB",
             "<br>".join(f.alarms) or "none"] for f in flows]
    lines = table(header, rows)
    flagged = [(f.service, flag) for f in flows for flag in f.flags]
    lines += ["Guidance (visibility >= 6 x timeout + window, maxReceiveCount >= 5, DLQ retention longer than "
              "the queue's, a DLQ for queue and subscription): "
              + ("all met." if not flagged else "**not met:**"), ""]
    lines += [f"- ⚠️ {service}: {flag}" for service, flag in flagged] + ([""] if flagged else [])
    return lines


def _grant_rows(grants: tuple[Grant, ...], *, principals: bool) -> list[list[object]]:
    return [[g.effect, *([", ".join(g.principals)] if principals else []), "<br>".join(g.actions),
             "<br>".join(g.resources), *(["<br>".join(g.conditions)] if principals else []), _flag_text(g.flags)]
            for g in grants]


def _permissions(review: Review) -> list[str]:
    lines = ["## Permissions", ""]
    flags = review.permissions.flags
    open_flags = [f for f in flags if not f.acknowledged]
    lines += [f"{len(flags)} flags (wildcard action, `Resource: *`, principal outside the account); "
              f"{len(open_flags)} not acknowledged by a scanner.", ""]
    for role in review.permissions.roles:
        managed = ", ".join(role.managed_policies) or "none"
        lines += [f"### Role `{role.role}`", "",
                  f"Used by {', '.join(role.used_by) or 'nothing in this stack'}; trusted by "
                  f"{', '.join(role.trusted) or 'nobody'}; managed policies: {managed}.",
                  "", *table(["effect", "actions", "resources", "flags"], _grant_rows(role.grants, principals=False))]
    lines += ["### Resource policies", "", "Who may publish, send, decrypt or invoke, and under which conditions "
              "(`*` as a resource here means the resource itself).", ""]
    rows = [[f"`{policy.resource}`<br>{policy.resource_type}", *row]
            for policy in review.permissions.resource_policies for row in _grant_rows(policy.grants, principals=True)]
    lines += table(["resource", "effect", "principals", "actions", "resources", "conditions", "flags"], rows)
    return lines


def _findings(tools: tuple[ToolReport, ...]) -> list[str]:
    lines = ["## Findings", "", *table(
        ["tool", "unacknowledged", "acknowledged", "time", "notes"],
        [[r.tool, "could not run: " + r.error if r.error else len(r.unacknowledged), len(r.acknowledged),
          f"{r.seconds:.1f} s" if r.seconds else "at synth", "<br>".join(r.notes)] for r in tools])]
    failures = [(r.tool, f) for r in tools for f in r.unacknowledged]
    if failures:
        lines += ["### ❌ Unacknowledged findings", "", *table(
            ["tool", "rule", "resource", "finding"], [[tool, f.rule, f.resource, f.message] for tool, f in failures])]
    grouped: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for report in tools:
        for finding in report.acknowledged:
            grouped[(report.tool, finding.rule, finding.reason)].append(finding.resource)
    if grouped:
        lines += [f"<details><summary>{sum(len(v) for v in grouped.values())} acknowledged findings, "
                  "each with its reason</summary>", "", *table(
                      ["tool", "rule", "resources", "reason"],
                      [[tool, rule, "<br>".join(resources), reason] for (tool, rule, reason), resources in
                       grouped.items()]), "</details>", ""]
    return lines


def render_markdown(review: Review) -> str:
    lines = [f"# Review of `{review.stack}`", ""]
    if review.failures:
        lines += ["**❌ Fails:**", "", *[f"- {failure}" for failure in review.failures], ""]
    else:
        lines += ["**✅ Passes:** no unacknowledged finding" + (", STRICT met" if review.strict else "") + ".", ""]
    lines += [f"{sum(review.resource_counts.values())} resources · {len(review.flows)} message flows · "
              f"{len(review.alarms)} alarms · {len(review.permissions.roles)} roles · "
              + " · ".join(findings_line(r) for r in review.tools), ""]
    if review.changes:
        lines += _changes(review.changes, review.strict)
    lines += ["## Architecture", "", "Generated from the synthesized template: solid edges carry rides, dotted ones "
              "lead to dead-letter queues; alarms are counted on what they watch.", "", "```mermaid",
              review.mermaid.rstrip(), "```", "", "## Message flows", "", *_flows(review.flows)]
    if review.other_alarms:
        lines += ["## Other alarms", "", *table(
            ["alarm", "watches", "metric", "condition", "notifies"],
            [[a.name, a.watched(review.template), a.metric, a.condition,
              ", ".join(review.template.name(x) for x in a.actions) or "nobody"] for a in review.other_alarms])]
    lines += [*_permissions(review), *_findings(review.tools)]
    lines += ["<details><summary>Resources by type</summary>", "",
              *table(["type", "count"], [[t, n] for t, n in review.resource_counts.items()]), "</details>", ""]
    return "\n".join(lines)
