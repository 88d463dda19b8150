"""The docs site builds with `mkdocs build --strict`, so `make test` fails on a broken link, anchor or include
(and a copy with one broken anchor shows that it would); the counts of alarms the pages quote are the
synthesized template's (they once said 19 in one place and 24 in three others)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mkdocs.config import load_config

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def build(project: Path, site: Path) -> tuple[int, str]:
    """`mkdocs build --strict` of project/mkdocs.yml into site, run from project (the snippets' base)."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(project / "mkdocs.yml"),
         "--site-dir", str(site)], cwd=project, capture_output=True, text=True, timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    return result.returncode, result.stdout + result.stderr


def test_the_site_builds_strictly_with_every_page_and_its_includes(tmp_path):
    code, log = build(ROOT, tmp_path)
    assert code == 0, log
    assert "WARNING" not in log, log
    nav = [next(iter(entry.values())) for entry in load_config(str(ROOT / "mkdocs.yml"))["nav"]]
    assert sorted(nav) == sorted(page.name for page in DOCS.glob("*.md"))  # every page is in the nav
    home = (tmp_path / "index.html").read_text()
    assert home.count('class="mermaid"') == 1 and "RideCompletionTopic" in home  # README's diagram, included
    assert "make demo" in home  # and README's commands
    benchmarks = (tmp_path / "benchmarks" / "index.html").read_text()
    assert "every queue drained, after the first send" in benchmarks  # docs/generated/, included


def test_a_broken_anchor_fails_the_build(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(DOCS, project / "docs")
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    api = project / "docs" / "api.md"
    api.write_text(api.read_text().replace("(#who-may-submit-a-ride)", "(#who-may-submit-a-rid)", 1))
    code, log = build(project, tmp_path / "site")
    assert code != 0
    assert "'#who-may-submit-a-rid'" in log, log


def test_every_count_of_alarms_in_the_docs_is_the_template_s(template_json: dict[str, Any]):
    alarms = sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in template_json["Resources"].values())
    quoted = [(page.name, int(n)) for page in sorted(DOCS.rglob("*.md"))
              for n in re.findall(r"\b(\d+)\s+(?:CloudWatch\s+)?alarms\b", page.read_text())]
    assert len(quoted) >= 3, quoted  # the pages do quote it: this checks something
    assert [(page, n) for page, n in quoted if n != alarms] == [], f"the template has {alarms} alarms"


def test_the_readme_stays_short_with_the_two_commands_first():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: move detail into docs/"
    first = "\n".join(lines[:40])
    assert "make demo" in first and "make test" in first
