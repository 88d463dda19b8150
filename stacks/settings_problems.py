"""How a problem with the settings is worded: the field as cdk.json spells it, with its path, the rule and the
value; every problem at once (ConfigError). stacks/config.py holds the rules; this, their words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

CONTEXT_KEY = "wildrydes"
RULE = "setting"  # the error type of the project's own rules: their message is the problem as listed


class ConfigError(ValueError):
    """The CDK context holds settings that cannot be deployed; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid '{CONTEXT_KEY}' settings in the CDK context (cdk.json):\n{lines}")


@dataclass(frozen=True)
class Says:
    """How the problem list states whatever pydantic finds wrong with a field; `{value!r}` is the value given.

    Its field's validators raise a bare ValueError for the rule Says states; rules of their own raise rule.
    """

    text: str


def rule(problem: str) -> PydanticCustomError:
    return PydanticCustomError(RULE, problem)


def problems(error: ValidationError, context: dict[str, Any],
             field_of: Callable[[tuple[int | str, ...]], FieldInfo]) -> list[str]:
    """pydantic's errors in the project's words: the field as cdk.json spells it with its path, the rule, the value."""
    return [f"{_path(e['loc'], context)}: {_problem(e, field_of)}" for e in error.errors()]


def _path(loc: tuple[int | str, ...], context: dict[str, Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):  # a service: by its name, where it has one
            service = context["subscribers"][part]
            name = service.get("name") if isinstance(service, dict) else None
            path += f"[{part}]" if name is None else f".{name}"
        else:
            path += f".{part}" if path else part
    return path


def _problem(error: ErrorDetails, field_of: Callable[[tuple[int | str, ...]], FieldInfo]) -> str:
    kind, value, loc = error["type"], error["input"], error["loc"]
    if kind == RULE:
        return error["msg"]
    if kind == "extra_forbidden":
        return "unknown setting"
    field = field_of(loc)
    says = next((m.text for m in field.metadata if isinstance(m, Says)), None)
    if says is not None:
        return says.format(value=value)
    if kind in ("greater_than_equal", "less_than_equal"):  # every number here has both bounds
        low, high = (next(getattr(m, bound) for m in field.metadata if hasattr(m, bound)) for bound in ("ge", "le"))
        return f"must be between {low} and {high}, got {value}"
    expected = {"int_type": "an integer", "string_type": "a string"}.get(kind)
    return f"must be {expected}, got {value!r}" if expected else f"{error['msg']}, got {value!r}"
