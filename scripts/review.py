"""`make review` / `wildrydes review`: what a reviewer of a pull request needs, from what synth writes.

Synthesizes (or reuses a cdk.out newer than app.py, cdk.json, stacks/ and lambdas/), runs cdk-nag's
report, cfn-lint and checkov, and writes cdk.out/review/REVIEW.md and review.json. With --base REF it
also synthesizes REF in a temporary git worktree and reports what the change does.
Exit 0: passes; 1: fails (unacknowledged finding, a scanner that could not run, or --strict's rules);
the report is written either way. Exit 2: the review could not run (the error says why).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cloud_assembly import AssemblyError, load_assembly
from review.architecture import build_architecture
from review.errors import ReviewError
from review.mermaid import render_mermaid
from review.readme import readme_diagram, with_diagram
from review.report import summary_lines
from review.run import ReviewOptions, run_review
from review.synth import ensure_synth
from review.template import Template
from review.tools import ROOT, Tools

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _update_readme(project: Path, cdk_out: Path) -> None:
    ensure_synth(project, cdk_out, tools=Tools.default())
    mermaid = render_mermaid(build_architecture(Template(stack=load_assembly(cdk_out).stack)))
    readme = project / "README.md"
    text = readme.read_text()
    if readme_diagram(text) == mermaid:
        console.print(f"{_shown(readme)}: the architecture diagram is current", markup=False)
        return
    readme.write_text(with_diagram(text, mermaid))
    console.print(f"{_shown(readme)}: architecture diagram regenerated from {_shown(cdk_out)}", markup=False)


def review(
    base: Annotated[str | None, typer.Option(
        "--base", help="a git ref to compare with (synthesized in a temporary worktree), e.g. origin/main")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="also fail when a table, queue or key would be removed or replaced, or the API "
                         "contract breaks")] = False,
    project: Annotated[Path, typer.Option(help="the project to review (a git checkout with cdk.json)")] = ROOT,
    cdk_out: Annotated[Path | None, typer.Option(help="the synthesized app (default: PROJECT/cdk.out)")] = None,
    output: Annotated[Path | None, typer.Option(help="where to write REVIEW.md and review.json "
                                                     "(default: CDK_OUT/review)")] = None,
    update_readme: Annotated[bool, typer.Option(
        "--update-readme", help="only regenerate the architecture diagram in PROJECT/README.md, then stop")] = False,
) -> None:
    """Review the synthesized template: diagram, message flows, permissions, findings, changes against BASE."""
    cdk_out_dir = cdk_out or project / "cdk.out"
    try:
        if update_readme:
            _update_readme(project, cdk_out_dir)
            return
        outcome = run_review(ReviewOptions(project=project, cdk_out=cdk_out_dir, output=output, base=base,
                                           strict=strict))
    except (ReviewError, AssemblyError) as error:
        errors.print(f"error: {error}", markup=False)
        raise typer.Exit(2) from None
    for line in summary_lines(outcome.review):
        style = "bold red" if line.startswith("FAIL") else "bold green" if line.startswith("PASS") else None
        console.print(line, style=style, markup=False)
    facts = outcome.review.facts
    console.print(f"took {facts.get('total_seconds')} s (synth {facts.get('synth')}"
                  + (f", {facts.get('synth_seconds')} s" if facts.get("synth") == "ran" else "")
                  + (f"; BASE synth {facts.get('base_seconds')} s" if "base_seconds" in facts else "") + ")",
                  markup=False)
    console.print(f"wrote {_shown(outcome.markdown_path)} and {outcome.json_path.name}", markup=False)
    raise typer.Exit(outcome.review.exit_code)


app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)
app.command()(review)

if __name__ == "__main__":
    app()
