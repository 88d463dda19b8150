"""`make preflight`: is the account of your AWS credentials ready for a deploy of cdk.out?

Prints one line per check (✓ pass, ! warning, ✗ failure, - skipped) and, under each that is not a
pass, the fix. Exit status: 0 when nothing failed, 1 when a check failed, 2 when cdk.out or an
option is wrong. `python -m scripts.preflight_command --help` lists the options. The command function
`preflight` is what the project's CLI mounts as `wildrydes preflight`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ops.deploy_needs import AssemblyError, read_needs
from ops.preflight import run_preflight
from ops.preflight_check import Check, Status, failed

MARKS = {Status.PASS: ("✓", "green"), Status.WARN: ("!", "yellow"), Status.FAIL: ("✗", "red"),
         Status.SKIP: ("-", "dim")}


def parse_parameters(values: list[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for value in values:
        name, equals, given = value.partition("=")
        if not equals or not name or not given:
            raise typer.BadParameter(f"{value!r} is not NAME=VALUE", param_hint="--parameter")
        parsed[name] = given
    return parsed


def render(console: Console, checks: list[Check]) -> None:
    for check in checks:
        mark, colour = MARKS[check.status]
        console.print(f"[{colour}]{mark}[/] [bold]{escape(check.name)}[/]: {escape(check.detail)}", highlight=False)
        if check.fix and check.status is not Status.PASS:
            console.print(f"    fix: {escape(check.fix)}", highlight=False)
    counts = {status: sum(1 for c in checks if c.status is status) for status in Status}
    console.print(f"{counts[Status.PASS]} passed, {counts[Status.WARN]} warnings, {counts[Status.FAIL]} failed"
                  + (f", {counts[Status.SKIP]} skipped" if counts[Status.SKIP] else ""), highlight=False)


def preflight(
    cdk_out: Annotated[Path, typer.Option(help="the synthesized app (`make synth` writes it)")] = Path("cdk.out"),
    stack_name: Annotated[str | None, typer.Option(help="the stack in cdk.out (default: the only one)")] = None,
    parameter: Annotated[list[str] | None, typer.Option(
        "--parameter", "-p", help="NAME=VALUE, as `cdk deploy --parameters` will pass it (repeatable)")] = None,
    bootstrap_follows: Annotated[bool, typer.Option(
        help="a missing or old CDK bootstrap is a warning, not a failure: `cdk bootstrap` runs next")] = False,
) -> None:
    """Check credentials, bootstrap, deploy-time SSM parameters, the API Gateway logging role, Lambda
    concurrency and the alarm email before `cdk deploy`."""
    console = Console(soft_wrap=True)  # one line per check, whatever the width
    try:
        needs = read_needs(cdk_out, stack_name, parse_parameters(parameter or []))
    except AssemblyError as error:
        Console(stderr=True, soft_wrap=True).print(f"error: {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"Preflight of stack [bold]{escape(needs.stack_name)}[/] ({escape(str(cdk_out))})", highlight=False)
    checks = run_preflight(needs, bootstrap_follows=bootstrap_follows)
    render(console, checks)
    raise typer.Exit(1 if failed(checks) else 0)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, help=__doc__)
app.command()(preflight)

if __name__ == "__main__":
    app()
