"""CloudWatch Logs filter patterns, for FilterLogEvents (and so `aws logs tail --filter-pattern`).

moto 5.2 understands one bare word or one quoted phrase and answers *every* event for anything else (a
request id, `?ERROR ?WARN`, `-DEBUG`, a JSON pattern), so a filter that should narrow the answer
silently returns the whole group. CloudWatch Logs User Guide, "Filter pattern syntax":

- terms: `ERROR`, `"exact phrase"` (terms with other than letters, digits and `_` must be quoted),
  case-sensitive substrings; several terms must all match; `?a ?b` matches either; `-term` excludes;
- `%regex%`: a regular expression (searched, not anchored);
- JSON: `{ $.level = "ERROR" }`, `{ $.a.b != "x" }`, `{ $.n >= 5 }`, `*` as a wildcard in strings,
  `IS NULL`, `NOT EXISTS`, `IS TRUE`/`IS FALSE`, comparisons joined by `&&` or `||` (no parentheses here).
An empty pattern matches every event. Space-delimited patterns (`[ip, user, ...]`) are not supported
here: they are refused with InvalidParameterException rather than silently matching everything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[str], bool]
_TERM = re.compile(r'([?-]?)("(?:[^"\\]|\\.)*"|\S+)')
_COMPARISON = re.compile(r'^\s*\$((?:\.[^\s=!<>]+)+)\s*(=|!=|<=|>=|<|>|IS|NOT)\s*(.*?)\s*$', re.DOTALL)
_MISSING = object()


class UnsupportedPattern(ValueError):
    pass


def compile_pattern(pattern: str | None) -> Matcher:
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{") and text.endswith("}"):
        return _json_pattern(text[1:-1])
    if text.startswith("%") and text.endswith("%") and len(text) > 1:
        regex = re.compile(text[1:-1])
        return lambda message: regex.search(message) is not None
    if text.startswith("["):
        raise UnsupportedPattern("space-delimited filter patterns are not supported by the local cloud")
    return _terms(text)


def _terms(text: str) -> Matcher:
    required, optional, excluded = [], [], []
    for sign, raw in _TERM.findall(text):
        term = json.loads(raw) if raw.startswith('"') else raw
        {"": required, "?": optional, "-": excluded}[sign].append(term)

    def matches(message: str) -> bool:
        return (all(t in message for t in required) and (not optional or any(t in message for t in optional))
                and not any(t in message for t in excluded))
    return matches


def _json_pattern(body: str) -> Matcher:
    ors = [[_comparison(part) for part in alternative.split("&&")] for alternative in body.split("||")]

    def matches(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return any(all(test(document) for test in alternative) for alternative in ors)
    return matches


def _select(document: Any, path: str) -> Any:
    for key in path.strip(".").split("."):
        index = None
        if key.endswith("]") and "[" in key:
            key, index = key[:key.index("[")], int(key[key.index("[") + 1:-1])
        if not isinstance(document, dict) or key not in document:
            return _MISSING
        document = document[key]
        if index is not None:
            if not isinstance(document, list) or index >= len(document):
                return _MISSING
            document = document[index]
    return document


def _comparison(text: str) -> Callable[[Any], bool]:
    found = _COMPARISON.match(text)
    if not found:
        raise UnsupportedPattern(f"not a JSON filter comparison: {text.strip()!r}")
    path, operator, operand = found.groups()
    if operator in ("IS", "NOT"):
        wanted = operand.upper()
        checks: dict[str, Callable[[Any], bool]] = {
            "NULL": lambda v: v is None, "TRUE": lambda v: v is True, "FALSE": lambda v: v is False,
            "EXISTS": lambda v: v is not _MISSING}
        if wanted not in checks or (operator == "NOT") != (wanted == "EXISTS"):
            raise UnsupportedPattern(f"unsupported JSON filter: {text.strip()!r}")
        check = checks[wanted]
        return (lambda d: not check(_select(d, path))) if operator == "NOT" else (lambda d: check(_select(d, path)))
    if operand.startswith('"'):
        wanted_text = json.loads(operand)
        if operator not in ("=", "!="):
            raise UnsupportedPattern(f"strings compare with = or != only: {text.strip()!r}")
        wildcard = re.compile(".*".join(re.escape(part) for part in wanted_text.split("*")) + r"\Z", re.DOTALL)

        def equal(value: Any) -> bool:
            return isinstance(value, str) and wildcard.match(value) is not None
        return (lambda d: equal(_select(d, path))) if operator == "=" else (lambda d: not equal(_select(d, path)))
    try:
        number = float(operand)
    except ValueError:
        if operator in ("=", "!=") and operand and " " not in operand:  # an unquoted string, as CloudWatch allows
            return _comparison(f'${path} {operator} {json.dumps(operand)}')
        raise UnsupportedPattern(f"unsupported JSON filter operand: {text.strip()!r}") from None
    compare = {"=": float.__eq__, "!=": float.__ne__, "<": float.__lt__, ">": float.__gt__, "<=": float.__le__,
               ">=": float.__ge__}[operator]

    def numeric(d: Any) -> bool:
        value = _select(d, path)
        return isinstance(value, int | float) and not isinstance(value, bool) and compare(float(value), number)
    return numeric
