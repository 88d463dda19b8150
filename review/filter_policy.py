"""An SNS filter policy as one readable line: `fare >= 50 and distance >= 20`.

Keys are ANDed, the values of one key ORed, `$or` ORs whole sub-policies; nested keys (payload
filtering) are joined with dots. Anything not understood is shown as compact JSON rather than guessed.
"""

from __future__ import annotations

import json
from typing import Any


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _numeric(key: str, terms: list[Any]) -> str:
    pairs = [f"{key} {terms[i]} {terms[i + 1]}" for i in range(0, len(terms) - 1, 2)]
    return " and ".join(pairs) if pairs else f"{key} numeric {_compact(terms)}"


def _condition(key: str, value: Any) -> str:
    if value is None:
        return f"{key} is null"
    if not isinstance(value, dict):
        return f"{key} = {_compact(value)}"
    if len(value) != 1:
        return f"{key} matches {_compact(value)}"
    [(operator, argument)] = value.items()
    if operator == "numeric" and isinstance(argument, list):
        return _numeric(key, argument)
    if operator == "exists":
        return f"{key} exists" if argument else f"no {key}"
    if operator == "anything-but":
        shown = argument if isinstance(argument, list) else [argument]
        return f"{key} not in {_compact(shown)}"
    words = {"prefix": "starts with", "suffix": "ends with", "equals-ignore-case": "equals (any case)",
             "wildcard": "matches", "cidr": "in"}
    return f"{key} {words.get(operator, operator)} {_compact(argument)}"


def _key_terms(policy: dict[str, Any], prefix: str = "") -> list[str]:
    terms = []
    for key, value in policy.items():
        if key == "$or" and isinstance(value, list):
            terms.append("(" + " or ".join(render_filter_policy(alt) for alt in value) + ")")
        elif isinstance(value, dict):
            terms += _key_terms(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            parts = [_condition(f"{prefix}{key}", v) for v in value]
            terms.append(parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")")
        else:
            terms.append(_condition(f"{prefix}{key}", value))
    return terms


def render_filter_policy(policy: Any) -> str:
    if not isinstance(policy, dict) or not policy:
        return _compact(policy)
    return " and ".join(_key_terms(policy))
