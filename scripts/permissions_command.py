"""`wildrydes permissions`: what the stack's principals were refused, used, and granted but never used.

Local: the local cloud's decision record (every call judged). AWS: IAM's last-accessed data (ops/permissions.py).
"""

from __future__ import annotations

import typer

from ops import views
from ops.permissions import permissions
from scripts.cli import (
    EndpointsOption,
    JsonOption,
    RegionOption,
    StackOption,
    TargetOption,
    err,
    handles_errors,
    out,
    print_json,
    target_of,
)


def register(app: typer.Typer) -> None:
    @app.command("permissions", epilog="Examples:  wildrydes permissions --target local   |   "
                                       "wildrydes permissions --target local --json")
    @handles_errors
    def show_permissions(target: TargetOption = "aws", stack: StackOption = None, region: RegionOption = None,
                         endpoints: EndpointsOption = None, as_json: JsonOption = False) -> None:
        """Each IAM decision: denied, used, and the stack's grants never used (least privilege, measured)."""
        where = target_of(target, stack, region, endpoints)
        with err.status("reading the decisions"):
            found = permissions(where)
        if as_json:
            print_json(found.to_json())
            return
        out.print(views.permissions_table(found, where.stack_name))
        if found.note:
            err.print(found.note, highlight=False, soft_wrap=True)
