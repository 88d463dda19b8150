"""A small reading of SNS filter policies on message attributes, for the demo's own expectations.

Not used to route anything (moto's SNS does the routing): the demo uses it to say, independently,
which service each ride should reach, and so to notice a ride that went missing or astray. It knows
exact values and numeric comparisons; any other operator makes `expected` return None (unknown).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


class UnknownOperator(ValueError):
    pass


def _condition_holds(condition: Any, value: Any) -> bool:
    if isinstance(condition, dict):
        if set(condition) != {"numeric"}:
            raise UnknownOperator(str(condition))
        terms = condition["numeric"]
        if not isinstance(value, (int, float)):
            return False
        return all(COMPARE[terms[i]](float(value), float(terms[i + 1])) for i in range(0, len(terms), 2))
    return bool(condition == value)


def expected(policy: Mapping[str, Any] | None, attributes: Mapping[str, Any]) -> bool | None:
    """True if a message with these attributes passes the policy; None if the policy is beyond this reader."""
    if not policy:
        return True
    try:
        return all(key in attributes and any(_condition_holds(c, attributes[key]) for c in conditions)
                   for key, conditions in policy.items())
    except UnknownOperator:
        return None
