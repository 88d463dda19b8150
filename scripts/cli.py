"""What every `wildrydes` command shares: the target options, JSON and table output, one-line errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ops import views
from ops.errors import OpsError
from ops.target import Target, resolve

out = views.stdout_console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

TargetOption = Annotated[str, typer.Option(
    "--target", "-t", envvar="WILDRYDES_TARGET",
    help="aws: a deployed stack (CloudFormation outputs, your credentials); local: the running `make local`.")]
StackOption = Annotated[str | None, typer.Option(
    "--stack", help="Stack name (default: $STACK_NAME, else cdk.json's context.wildrydes.stackName).")]
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region (default: your AWS configuration).")]
EndpointsOption = Annotated[Path | None, typer.Option(
    "--endpoints", envvar="WILDRYDES_ENDPOINTS",
    help="The local cloud's endpoints file (default .local/endpoints.json).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def handles_errors(command: F) -> F:
    """One line on stderr and a non-zero exit for what the user can fix; no traceback."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OpsError as error:
            err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except NoCredentialsError:
            err.print("[bold red]error:[/] no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                      "AWS_SECRET_ACCESS_KEY, or use --target local", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except ClientError as error:
            e = error.response.get("Error", {})
            err.print(f"[bold red]error:[/] AWS refused {error.operation_name}: {e.get('Code')}: {e.get('Message')}",
                      highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except BotoCoreError as error:
            err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
    return run  # type: ignore[return-value]


def target_of(target: str, stack: str | None, region: str | None, endpoints: Path | None) -> Target:
    return resolve(target, stack=stack, region=region, endpoints_file=endpoints)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False, disable=not console.is_terminal)
