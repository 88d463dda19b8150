"""Scanner findings, acknowledged or not: cdk-nag (every pack synth ran), cfn-lint and checkov.

Each tool's report lists every finding with its rule and resource; an acknowledged one carries the
reason the project gave (cdk-nag: on the construct; cfn-lint: the comment above the rule in
.cfnlintrc.yaml; checkov: checkov-skips.yaml). Any unacknowledged finding, or a tool that could not
run, fails the review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from review.template import Template


@dataclass(frozen=True, kw_only=True)
class Finding:
    rule: str
    resource: str
    message: str
    acknowledged: bool = False
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return vars(self).copy()


@dataclass(frozen=True, kw_only=True)
class ToolReport:
    tool: str
    findings: tuple[Finding, ...] = ()
    error: str | None = None  # the tool could not run or its output could not be read
    notes: tuple[str, ...] = ()  # e.g. acknowledgments that matched nothing
    seconds: float = 0.0

    @property
    def unacknowledged(self) -> list[Finding]:
        return [f for f in self.findings if not f.acknowledged]

    @property
    def acknowledged(self) -> list[Finding]:
        return [f for f in self.findings if f.acknowledged]

    @property
    def failed(self) -> bool:
        return self.error is not None or bool(self.unacknowledged)

    def as_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "error": self.error, "failed": self.failed, "seconds": round(self.seconds, 2),
                "unacknowledged": len(self.unacknowledged), "acknowledged": len(self.acknowledged),
                "notes": list(self.notes), "findings": [f.as_dict() for f in self.findings]}


def resource_by_construct_path(template: Template) -> dict[str, str]:
    """Full construct path ("Stack/CustomerNotification/Queue/Resource") -> readable resource name."""
    return {f"{template.stack_name}/{path}": template.name(lid) for lid, path in template.paths.items()}


def cdk_nag_reports(template: Template, report: dict[str, Any] | None) -> list[ToolReport]:
    """One report per rule pack that synth ran, read from cdk.out/validation-report.json."""
    if report is None:
        return [ToolReport(tool="cdk-nag", error="cdk.out has no validation-report.json: synth ran no cdk-nag pack")]
    names = resource_by_construct_path(template)
    reports = []
    for plugin in report.get("pluginReports", []):
        findings = []
        for violation, acknowledged in [(v, False) for v in plugin.get("violations", [])] + [
                (v, True) for v in plugin.get("suppressedViolations", [])]:
            for construct in violation.get("violatingConstructs", []):
                path = construct.get("constructPath", "")
                findings.append(Finding(rule=violation.get("ruleName", "?"), resource=names.get(path, path),
                                        message=violation.get("description", ""), acknowledged=acknowledged,
                                        reason=violation.get("reason", "") if acknowledged else ""))
        error = None
        if plugin.get("conclusion") not in ("success", None) and not any(not f.acknowledged for f in findings):
            error = f"conclusion {plugin.get('conclusion')!r}: {plugin.get('metadata') or 'see the synth output'}"
        reports.append(ToolReport(tool=f"cdk-nag {plugin.get('pluginName', '?')}", findings=tuple(findings),
                                  error=error))
    return reports or [ToolReport(tool="cdk-nag", error="the validation report lists no rule pack")]
