"""cfn-lint and checkov on the synthesized template, run in parallel, findings sorted into acknowledged or not.

Both run with no ignore list of their own, so that what the project accepts is listed too:
cfn-lint's accepted rules are .cfnlintrc.yaml's `ignore_checks`, each with the comment above it as
its reason; checkov's are checkov-skips.yaml (a check id, a reason, optional resource globs).
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from review.errors import ReviewError
from review.findings import Finding, ToolReport
from review.template import Template
from review.tools import Tools

CFN_LINT_CONFIG = ".cfnlintrc.yaml"
CHECKOV_SKIPS = "checkov-skips.yaml"
SCAN_TIMEOUT_SECONDS = 300


@dataclass(frozen=True, kw_only=True)
class Skip:
    check: str
    reason: str
    resources: tuple[str, ...] = ("*",)  # globs on checkov's resource id, "AWS::SQS::Queue.QueueLogicalId"

    def matches(self, check: str, resource: str) -> bool:
        return check == self.check and any(fnmatch.fnmatchcase(resource, g) for g in self.resources)


def cfn_lint_acknowledgments(config_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The cfn-lint config without its ignore list, and each ignored rule with the comment above it."""
    if not config_path.is_file():
        return {}, {}
    text = config_path.read_text()
    config = yaml.safe_load(text) or {}
    ignored = [str(rule) for rule in config.pop("ignore_checks", []) or []]
    reasons: dict[str, str] = {}
    comment: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
        elif stripped.startswith("- ") and stripped[2:].strip() in ignored:
            rule = stripped[2:].strip()
            reasons[rule] = " ".join(comment).removeprefix(f"{rule}:").strip()
            comment = []
        else:
            comment = []
    return config, {rule: reasons.get(rule, "") for rule in ignored}


def load_checkov_skips(path: Path) -> list[Skip]:
    if not path.is_file():
        return []
    try:
        entries = (yaml.safe_load(path.read_text()) or {}).get("skips", [])
    except yaml.YAMLError as error:
        raise ReviewError(f"{path.name} is not valid YAML: {str(error).splitlines()[0]}") from error
    skips = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("check") or not str(entry.get("reason", "")).strip():
            raise ReviewError(f"{path.name}: skip {number} needs a `check` and a `reason`")
        globs = entry.get("resources") or ["*"]
        skips.append(Skip(check=str(entry["check"]), reason=" ".join(str(entry["reason"]).split()),
                          resources=tuple(str(g) for g in (globs if isinstance(globs, list) else [globs]))))
    return skips


def _run(command: list[str], *, cwd: Path, tools: Tools) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=tools.environment(), capture_output=True, text=True,
                          timeout=SCAN_TIMEOUT_SECONDS, check=False)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_cfn_lint(template: Template, template_path: Path, *, project: Path, tools: Tools) -> ToolReport:
    config, accepted = cfn_lint_acknowledgments(project / CFN_LINT_CONFIG)
    if not tools.cfn_lint.is_file():
        return ToolReport(tool="cfn-lint", error=f"{tools.cfn_lint} is missing: run make setup")
    with tempfile.TemporaryDirectory(prefix="review-cfn-lint-") as scratch:
        config_file = Path(scratch) / "cfnlintrc.yaml"
        config_file.write_text(yaml.safe_dump(config))
        # run outside the project so that cfn-lint does not pick up .cfnlintrc.yaml's ignore list itself
        result = _run([str(tools.cfn_lint), "--config-file", str(config_file), "--format", "json",
                       str(template_path.resolve())], cwd=Path(scratch), tools=tools)
    try:
        matches = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        return ToolReport(tool="cfn-lint", error=f"exit {result.returncode}: {_last_line(result.stderr)}")
    findings, used = [], set()
    for match in matches:
        rule = match.get("Rule", {}).get("Id", "?")
        path = match.get("Location", {}).get("Path") or []
        resource = template.name(path[1]) if len(path) > 1 and path[0] == "Resources" else "/".join(map(str, path))
        prefix = next((r for r in accepted if rule.startswith(r)), None)
        used.add(prefix)
        findings.append(Finding(rule=rule, resource=resource, message=match.get("Message", ""),
                                acknowledged=prefix is not None, reason=accepted.get(prefix or "", "")))
    notes = tuple(f"{CFN_LINT_CONFIG} ignores {r}, which no longer matches anything" for r in accepted
                  if r not in used)
    return ToolReport(tool="cfn-lint", findings=tuple(findings), notes=notes)


def run_checkov(template: Template, template_path: Path, *, project: Path, tools: Tools) -> ToolReport:
    skips = load_checkov_skips(project / CHECKOV_SKIPS)
    if not tools.checkov.is_file():
        return ToolReport(tool="checkov", error=f"{tools.checkov} is missing: run make setup (creates .venv-checkov)")
    result = _run([str(tools.checkov), "--file", str(template_path.resolve()), "--framework", "cloudformation",
                   "--output", "json", "--quiet", "--compact", "--skip-download"], cwd=project, tools=tools)
    try:
        output = json.loads(result.stdout)
    except json.JSONDecodeError:
        problem = _last_line(result.stderr + result.stdout)
        return ToolReport(tool="checkov", error=f"exit {result.returncode}: {problem}")
    reports = output if isinstance(output, list) else [output]
    findings, used = [], set()
    for report in reports:
        if (report.get("summary") or {}).get("parsing_errors"):
            return ToolReport(tool="checkov", error="checkov could not parse the template")
        for check in (report.get("results") or {}).get("failed_checks", []):
            check_id, resource = check.get("check_id", "?"), check.get("resource", "?")
            skip = next((s for s in skips if s.matches(check_id, resource)), None)
            used.add(skip)
            logical_id = resource.split(".", 1)[-1]
            findings.append(Finding(rule=check_id, resource=template.name(logical_id) if logical_id in
                                    template.resources else resource, message=check.get("check_name", ""),
                                    acknowledged=skip is not None, reason=skip.reason if skip else ""))
    notes = tuple(f"{CHECKOV_SKIPS} skips {s.check}, which no longer matches anything" for s in skips
                  if s not in used)
    return ToolReport(tool="checkov", findings=tuple(findings), notes=notes)


Scanner = Callable[..., ToolReport]
SCANNERS: tuple[Scanner, ...] = (run_cfn_lint, run_checkov)


def run_scanners(template: Template, template_path: Path, *, project: Path, tools: Tools,
                 scanners: tuple[Scanner, ...] = SCANNERS) -> list[ToolReport]:
    """Every scanner on the template at once (they are separate processes); reports in the given order."""

    def timed(scanner: Scanner) -> ToolReport:
        started = time.monotonic()
        try:
            report = scanner(template, template_path, project=project, tools=tools)
        except subprocess.TimeoutExpired:
            report = ToolReport(tool=scanner.__name__.removeprefix("run_").replace("_", "-"),
                                error=f"timed out after {SCAN_TIMEOUT_SECONDS} s")
        return replace(report, seconds=time.monotonic() - started)

    with ThreadPoolExecutor(max_workers=len(scanners)) as pool:
        return list(pool.map(timed, scanners))
