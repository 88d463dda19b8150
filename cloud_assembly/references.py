"""What a template value refers to: the logical names in its Ref, Fn::GetAtt and Fn::Sub.

One walker for the whole project (the local cloud orders creation by it, the review draws edges by it,
the planner finds a queue's mapping by it). Only CloudFormation's own single-key intrinsics count: a
dict that merely holds a "Ref" key beside others is data, not a reference. Pseudo parameters
(`AWS::Region`, ...) are not logical names and are left out; `${!Literal}` in Fn::Sub is literal text.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
        return
    if not isinstance(node, dict):
        return
    if len(node) == 1:
        [(key, arg)] = node.items()
        if key == "Ref" and isinstance(arg, str):
            yield arg
            return
        if key == "Fn::GetAtt":
            yield str(arg[0] if isinstance(arg, list) else str(arg).split(".")[0])
            return
        if key == "Fn::Sub":
            text = arg[0] if isinstance(arg, list) else arg
            variables = arg[1] if isinstance(arg, list) and len(arg) > 1 and isinstance(arg[1], dict) else {}
            if isinstance(text, str):
                for match in _SUB_VARIABLE.finditer(text):
                    name = match.group(1).split(".")[0]
                    if name not in variables:
                        yield name
            yield from _walk(variables)
            return
    for item in node.values():
        yield from _walk(item)


def references(value: Any) -> list[str]:
    """Logical names (resources and parameters) `value` refers to, in order, each once."""
    return list(dict.fromkeys(name for name in _walk(value) if not name.startswith("AWS::")))


def target(value: Any, among: Collection[str]) -> str | None:
    """The first of `among` (e.g. the template's resources) that `value` refers to."""
    return next((name for name in references(value) if name in among), None)
