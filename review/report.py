"""The review as one value: architecture, message flows, alarms, permissions, findings and changes.

`build_review` assembles it from a template and the scanners' reports; `Review.as_dict` is
review.json, review/markdown.py renders REVIEW.md, and `summary_lines` is what the command prints.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from review.alarms import Alarm, read_alarms
from review.architecture import Architecture, build_architecture
from review.changes import Changes
from review.findings import ToolReport
from review.flows import Flow, read_flows
from review.mermaid import render_mermaid
from review.permissions import Permissions, read_permissions
from review.template import Template


@dataclass(frozen=True, kw_only=True)
class Review:
    stack: str
    resource_counts: dict[str, int]
    architecture: Architecture
    mermaid: str
    flows: tuple[Flow, ...]
    alarms: tuple[Alarm, ...]
    other_alarms: tuple[Alarm, ...]  # alarms on nothing a message flow holds
    permissions: Permissions
    tools: tuple[ToolReport, ...]
    template: Template
    changes: Changes | None = None
    strict: bool = False
    facts: dict[str, Any] = field(default_factory=dict)  # how it was made: synth reused or run, timings

    @property
    def failures(self) -> list[str]:
        """Why the review fails (empty: it passes): unacknowledged findings, tools that could not run, STRICT."""
        failures = []
        for report in self.tools:
            if report.error:
                failures.append(f"{report.tool} could not run: {report.error}")
            if report.unacknowledged:
                failures.append(f"{report.tool}: {len(report.unacknowledged)} unacknowledged finding"
                                f"{'s' if len(report.unacknowledged) != 1 else ''}")
        if self.strict and self.changes:
            failures += [f"STRICT: {failure}" for failure in self.changes.strict_failures]
        return failures

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def as_dict(self) -> dict[str, Any]:
        t = self.template
        return {
            "stack": self.stack, "passed": not self.failures, "failures": self.failures, "strict": self.strict,
            "resource_counts": self.resource_counts,
            "architecture": self.architecture.as_dict() | {"mermaid": self.mermaid},
            "flows": [f.as_dict() for f in self.flows], "alarms": [a.as_dict(t) for a in self.alarms],
            "permissions": self.permissions.as_dict(), "findings": [r.as_dict() for r in self.tools],
            "changes": self.changes.as_dict() if self.changes else None, "facts": self.facts}


def build_review(template: Template, *, validation_report: dict[str, Any] | None, tools: list[ToolReport],
                 changes: Changes | None = None, strict: bool = False, facts: dict[str, Any] | None = None) -> Review:
    architecture = build_architecture(template)
    drawn = {n.id for n in architecture.nodes}
    alarms = read_alarms(template, is_node=lambda lid: lid in drawn)
    flows = read_flows(template, alarms)
    on_flows = {lid for f in flows for lid in f.resource_ids}
    return Review(
        stack=template.stack_name, template=template, architecture=architecture,
        resource_counts=dict(Counter(r.get("Type", "?") for r in template.resources.values()).most_common()),
        mermaid=render_mermaid(architecture), flows=tuple(flows), alarms=tuple(alarms),
        other_alarms=tuple(a for a in alarms if a.watches not in on_flows),
        permissions=read_permissions(template, validation_report), tools=tuple(tools), changes=changes,
        strict=strict, facts=facts or {})


def findings_line(report: ToolReport) -> str:
    if report.error:
        return f"{report.tool}: could not run ({report.error})"
    return f"{report.tool}: {len(report.unacknowledged)} unacknowledged, {len(report.acknowledged)} acknowledged"


def summary_lines(review: Review) -> list[str]:
    """The few lines the command prints: verdict, size, flows, permissions, findings, changes."""
    flags = review.permissions.flags
    open_flags = [f for f in flags if not f.acknowledged]
    guidance = sum(len(f.flags) for f in review.flows)
    lines = [f"{review.stack}: {sum(review.resource_counts.values())} resources, {len(review.flows)} message flows, "
             f"{len(review.alarms)} alarms, {len(review.permissions.roles)} roles",
             f"guidance: {guidance} flag{'s' if guidance != 1 else ''} on message flows; permissions: "
             f"{len(flags)} flags ({len(open_flags)} not acknowledged by a scanner)"]
    lines += [findings_line(report) for report in review.tools]
    if review.changes:
        counts = Counter(c.action for c in review.changes.resources)
        described = ", ".join(f"{n} {action}" for action, n in counts.items()) or "no resource changes"
        lines.append(f"changes against {review.changes.base_ref}: {described}"
                     + ("; permissions broadened" if review.changes.permissions_broadened else "")
                     + (f"; {len(review.changes.contract.breaking)} breaking API contract change(s)"
                        if review.changes.contract.breaking else ""))
        strict_failures = review.changes.strict_failures
        if strict_failures and not review.strict:
            lines.append(f"STRICT=1 would fail: {'; '.join(strict_failures)}")
    lines += [f"FAIL {failure}" for failure in review.failures] or ["PASS: no unacknowledged finding"]
    return lines
