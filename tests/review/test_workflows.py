"""The GitHub Actions workflows, checked offline: GitHub's workflow schema, zizmor's security audits, pins."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from review.tools import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_the_workflows_exist():
    assert [w.name for w in WORKFLOWS] == ["deploy.yml", "pull-request.yml"]


def test_the_workflows_follow_githubs_workflow_schema():
    result = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                 *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_offline():
    result = run(str(BIN / "zizmor"), "--offline", "--persona=pedantic", "--no-progress", *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version():
    uses = [line.strip() for w in WORKFLOWS for line in w.read_text().splitlines() if "uses:" in line]
    assert uses
    for line in uses:
        assert re.fullmatch(r"(- )?uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line), line
