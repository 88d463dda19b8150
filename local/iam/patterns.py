"""Wildcards and policy variables in policy strings, compiled once.

IAM matches Action, Resource and the String...Like / Arn... condition values with two wildcards: `*` (any run
of characters, none included) and `?` (exactly one character). "IAM JSON policy elements: Condition
operators" (ArnLike) checks each of the six colon-delimited ARN components separately, so there a `*` never
crosses a `:` before the resource part; "IAM JSON policy elements: Resource" matches the whole string.

In policies of version 2012-10-17, "IAM policy elements: Variables and tags" lets Resource and condition values
name request context keys as `${aws:username}`, with a default (`${aws:username, 'nobody'}`) and the escapes
`${*}`, `${?}` and `${$}` for the literal characters. A variable whose key is absent (or holds several values)
and has no default cannot be resolved: the value that holds it matches nothing. Version 2008-10-17 takes `${`
literally. A substituted value is literal text: a `*` in a user name is not a wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

Lookup = Mapping[str, Sequence[str]]
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'((?:[^']|'')*)'\s*$")


def glob_regex(pattern: str, *, ignore_case: bool = False, arn: bool = False) -> re.Pattern[str]:
    """The regex (for fullmatch) of one glob; with arn=True the first five `:` segments are matched apart."""
    return _glob_regex(((True, pattern),), ignore_case, arn)


def glob_source(tokens: Sequence[tuple[bool, str]], arn: bool) -> str:
    """Regex source for tokens (is_glob, text): glob text has wildcards, other text is literal."""
    parts: list[str] = []
    colons = 0
    segmented = arn and "".join(text for _glob, text in tokens).count(":") >= 5
    for is_glob, text in tokens:
        for char in text:
            wild = is_glob and char in "*?"
            if wild and segmented and colons < 5:
                parts.append("[^:]*" if char == "*" else "[^:]")
            elif wild:
                parts.append(".*" if char == "*" else ".")
            else:
                parts.append(re.escape(char))
            colons += char == ":"
    return "".join(parts)


@lru_cache(maxsize=4096)
def _glob_regex(tokens: tuple[tuple[bool, str], ...], ignore_case: bool, arn: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(glob_source(tokens, arn), flags)


def any_of(patterns: Sequence[str], *, ignore_case: bool = False) -> re.Pattern[str] | None:
    """One regex matching any of the globs (None when there are none)."""
    if not patterns:
        return None
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("|".join(f"(?:{glob_source(((True, p),), False)})" for p in patterns), flags)


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


class Template:
    """A policy string holding `${...}` variables (version 2012-10-17 only), resolved per request."""

    __slots__ = ("keys", "parts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        parts: list[tuple[str, str, str | None]] = []  # (kind, text or key, default): lit, esc or var
        end = 0
        for found in _VARIABLE.finditer(text):
            parts.append(("lit", text[end:found.start()], None))
            inner = found.group(1)
            default = _DEFAULT.match(inner)
            if inner in _ESCAPES:
                parts.append(("esc", inner, None))
            elif default:
                parts.append(("var", default.group(1).lower(), default.group(2).replace("''", "'")))
            else:
                parts.append(("var", inner.strip().lower(), None))
            end = found.end()
        parts.append(("lit", text[end:], None))
        self.parts = tuple(part for part in parts if part[0] != "lit" or part[1])
        self.keys = tuple(part[1] for part in self.parts if part[0] == "var")

    def tokens(self, context: Lookup) -> tuple[tuple[bool, str], ...] | None:
        """(is_glob, text) tokens with the variables substituted; None when one cannot be resolved."""
        out: list[tuple[bool, str]] = []
        for kind, value, default in self.parts:
            if kind == "lit":
                out.append((True, value))
            elif kind == "esc":
                out.append((False, value))
            else:
                values = context.get(value)
                if values is not None and len(values) == 1:
                    out.append((False, values[0]))
                elif default is not None:
                    out.append((False, default))
                else:
                    return None
        return tuple(out)

    def text_for(self, context: Lookup) -> str | None:
        tokens = self.tokens(context)
        return None if tokens is None else "".join(text for _glob, text in tokens)

    def regex_for(self, context: Lookup, *, ignore_case: bool = False, arn: bool = False) -> re.Pattern[str] | None:
        tokens = self.tokens(context)
        return None if tokens is None else _glob_regex(tokens, ignore_case, arn)


def template(text: str, variables: bool) -> Template | None:
    """A Template when the text holds variables and the policy version allows them, else None."""
    return Template(text) if variables and "${" in text else None



def split_templates(values: Sequence[str], variables: bool) -> tuple[list[str], list[Template]]:
    """The plain values, and the Templates of those holding policy variables."""
    templates = [template(v, variables) for v in values]
    return [v for v, t in zip(values, templates, strict=True) if t is None], [t for t in templates if t]
