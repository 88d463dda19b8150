"""The Condition element of an IAM policy statement, compiled once and decided per request.

Emulates "IAM JSON policy elements: Condition operators" and "Conditions with multiple context keys or values"
(IAM User Guide): the String, Numeric, Date, Bool, Binary, IP address, ARN and Null operators, the `...IfExists`
suffix and the `ForAnyValue:` / `ForAllValues:` set qualifiers. Several operators, and several keys under one
operator, are ANDed; several values for one key are ORed, and NORed under a negated operator (StringNotEquals,
ArnNotLike, NotIpAddress, ...). Condition keys are case-insensitive; values are case-sensitive except under the
IgnoreCase operators and Bool.

A key missing from the request context, as documented: the condition is false, except under a negated operator
(true), `...IfExists` (true), `Null` (true when it asks "true"), `ForAllValues:` (true) and `ForAnyValue:`
(false). An empty list counts as missing. Without a set qualifier, several request values behave as
ForAnyValue for a positive operator and as its negation for a negated one.

Unknown keys. A key that is neither in the request context nor a global or service key this module knows to be
possibly absent (keys.py) is almost always a typo or a key the caller forgot to supply. It is
never treated as met: in an Allow statement the whole condition block is false (no Allow ever rests on a key the
evaluator cannot see), whatever the operator, IfExists and ForAllValues included; in a Deny statement it gets
the documented missing-key result, as AWS would give it, so a negated, IfExists or ForAllValues Deny still
denies. Either way the key is added once to the decision's warnings. The rule fails closed in both directions
and changes nothing for the keys AWS itself leaves out of a request.

An unknown operator, a bad set qualifier and a value the operator cannot read (a number, a date, an address,
base64) are refused when the policy is parsed (MalformedPolicy), as IAM refuses to store them.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from local.iam.keys import is_known_key
from local.iam.patterns import any_of, glob_regex, has_wildcard, split_templates

Context = Mapping[str, Sequence[str]]
Match = Callable[[str, Context], bool]  # does one request value match any condition value?
_TRUE, _FALSE = ("true",), ("false",)



def context_values(value: Any) -> tuple[str, ...] | None:
    """A request context value as the tuple of strings conditions compare (None: absent)."""
    kind = type(value)
    if kind is str:
        return (value,)
    if kind is bool:
        return _TRUE if value else _FALSE
    if value is None:
        return None
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_text(item) for item in value if item is not None)
    return (_text(value),)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def parse_date(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 date-time (UTC when no offset is given) or of epoch seconds."""
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class ConditionError(ValueError):
    """A condition the policy grammar refuses; documents.py turns it into MalformedPolicy."""


def _strings(values: Sequence[str], variables: bool, *, fold: bool = False) -> Match:
    plain, templates = split_templates(values, variables)
    fixed = frozenset(v.lower() if fold else v for v in plain)
    if not templates:
        return (lambda v, _c: v.lower() in fixed) if fold else (lambda v, _c: v in fixed)

    def match(value: str, context: Context) -> bool:
        probe = value.lower() if fold else value
        if probe in fixed:
            return True
        for t in templates:
            text = t.text_for(context)
            if text is not None and (text.lower() if fold else text) == probe:
                return True
        return False
    return match


def _globs(values: Sequence[str], variables: bool, *, arn: bool) -> Match:
    plain, templates = split_templates(values, variables)
    if arn:
        regexes = [glob_regex(v, arn=True) for v in plain]
        fixed: frozenset[str] = frozenset()
    else:
        fixed = frozenset(v for v in plain if not has_wildcard(v))
        combined = any_of([v for v in plain if has_wildcard(v)])
        regexes = [combined] if combined else []

    def match(value: str, context: Context) -> bool:
        if value in fixed or any(r.fullmatch(value) for r in regexes):
            return True
        for t in templates:
            regex = t.regex_for(context, arn=arn)
            if regex is not None and regex.fullmatch(value):
                return True
        return False
    return match


def _numbers(compare: Callable[[float, float], bool], parse: Callable[[str], float]) -> Callable[..., Match]:
    def build(values: Sequence[str], _variables: bool) -> Match:
        try:
            wanted = [parse(v) for v in values]
        except (ValueError, TypeError) as error:
            raise ConditionError(f"unreadable condition value in {list(values)}") from error

        def match(value: str, _context: Context) -> bool:
            try:
                got = parse(value)
            except (ValueError, TypeError):
                return False
            return any(compare(got, w) for w in wanted)
        return match
    return build


def _bools(values: Sequence[str], _variables: bool) -> Match:
    wanted = frozenset(v.lower() for v in values)
    return lambda v, _c: v.lower() in wanted


def _binary(values: Sequence[str], _variables: bool) -> Match:
    try:
        wanted = frozenset(base64.b64decode(v, validate=True) for v in values)
    except (binascii.Error, ValueError) as error:
        raise ConditionError("BinaryEquals values must be base64") from error

    def match(value: str, _context: Context) -> bool:
        try:
            return base64.b64decode(value, validate=True) in wanted
        except (binascii.Error, ValueError):
            return False
    return match


def _addresses(values: Sequence[str], _variables: bool) -> Match:
    try:
        networks = [ipaddress.ip_network(v, strict=False) for v in values]
    except ValueError as error:
        raise ConditionError(f"not an IP address or range: {list(values)}") from error

    def match(value: str, _context: Context) -> bool:
        try:
            address = ipaddress.ip_address(value.split("/")[0])
        except ValueError:
            return False
        return any(address.version == n.version and address in n for n in networks)
    return match


_EQ, _LT, _LE = (lambda a, b: a == b), (lambda a, b: a < b), (lambda a, b: a <= b)
_GT, _GE = (lambda a, b: a > b), (lambda a, b: a >= b)
# operator (lower case) -> (builder, negated)
OPERATORS: dict[str, tuple[Callable[[Sequence[str], bool], Match], bool]] = {
    "stringequals": (lambda v, x: _strings(v, x), False),
    "stringnotequals": (lambda v, x: _strings(v, x), True),
    "stringequalsignorecase": (lambda v, x: _strings(v, x, fold=True), False),
    "stringnotequalsignorecase": (lambda v, x: _strings(v, x, fold=True), True),
    "stringlike": (lambda v, x: _globs(v, x, arn=False), False),
    "stringnotlike": (lambda v, x: _globs(v, x, arn=False), True),
    "arnequals": (lambda v, x: _globs(v, x, arn=True), False),
    "arnlike": (lambda v, x: _globs(v, x, arn=True), False),
    "arnnotequals": (lambda v, x: _globs(v, x, arn=True), True),
    "arnnotlike": (lambda v, x: _globs(v, x, arn=True), True),
    "bool": (_bools, False),
    "binaryequals": (_binary, False),
    "ipaddress": (_addresses, False),
    "notipaddress": (_addresses, True),
}
for _family, _parse in (("numeric", float), ("date", parse_date)):
    for _name, _compare, _negated in (("equals", _EQ, False), ("notequals", _EQ, True), ("lessthan", _LT, False),
                                      ("lessthanequals", _LE, False), ("greaterthan", _GT, False),
                                      ("greaterthanequals", _GE, False)):
        OPERATORS[_family + _name] = (_numbers(_compare, _parse), _negated)


class Condition:
    """One (operator, key) pair of a Condition block: `holds(context, warnings)`."""

    __slots__ = ("deny", "key", "match", "negated", "null", "on_missing", "operator", "qualifier", "unknown")

    def __init__(self, operator: str, key: str, values: Sequence[str], *, variables: bool, deny: bool) -> None:
        self.operator, self.key, self.deny = operator, key.lower(), deny
        self.unknown = not is_known_key(self.key)
        name = operator.lower()
        self.qualifier = ""
        for qualifier in ("forallvalues:", "foranyvalue:"):
            if name.startswith(qualifier):
                self.qualifier, name = qualifier[:-1], name[len(qualifier):]
        if_exists = name.endswith("ifexists") and name != "ifexists"
        name = name[:-len("ifexists")] if if_exists else name
        self.null: frozenset[bool] | None = None
        if name == "null" and not if_exists and not self.qualifier:
            self.null = frozenset(v.lower() == "true" for v in values)
            self.match, self.negated = _bools(values, False), False
            self.on_missing = True in self.null
            return
        if name not in OPERATORS:
            raise ConditionError(f"Invalid Condition type : {operator}")
        build, self.negated = OPERATORS[name]
        self.match = build(values, variables)
        self.on_missing = (if_exists or self.qualifier == "forallvalues"
                           or (self.negated and self.qualifier != "foranyvalue"))

    def holds(self, context: Context, warnings: list[str]) -> bool:
        values = context.get(self.key)
        if not values:
            if self.unknown:
                if self.key not in warnings:
                    warnings.append(self.key)
                if not self.deny:
                    return False
            return self.on_missing
        if self.null is not None:
            return False in self.null
        match, negated = self.match, self.negated
        if not self.qualifier:
            if len(values) == 1:
                return match(values[0], context) != negated
            return any(match(v, context) for v in values) != negated
        if self.qualifier == "forallvalues":
            return all(match(v, context) != negated for v in values)
        return any(match(v, context) != negated for v in values)


class ConditionBlock:
    """A statement's whole Condition element: every Condition must hold."""

    __slots__ = ("conditions", "keys", "unknown_keys")

    def __init__(self, conditions: Sequence[Condition]) -> None:
        self.conditions = tuple(conditions)
        self.keys = frozenset(c.key for c in self.conditions)
        self.unknown_keys = tuple(sorted({c.key for c in self.conditions if c.unknown}))

    def holds(self, context: Context, warnings: list[str]) -> bool:
        for condition in self.conditions:  # noqa: SIM110 - a loop is cheaper than all() over a generator
            if not condition.holds(context, warnings):
                return False
        return True


EMPTY = ConditionBlock(())


def compile_conditions(element: Any, *, variables: bool, deny: bool) -> ConditionBlock:
    """The ConditionBlock of a statement's Condition element (None or {} for none)."""
    if not element:
        return EMPTY
    if not isinstance(element, dict):
        raise ConditionError("Condition must be an object")
    conditions = []
    for operator, pairs in element.items():
        if not isinstance(pairs, dict) or not pairs:
            raise ConditionError(f"{operator} must map condition keys to values")
        for key, raw in pairs.items():
            values = raw if isinstance(raw, list) else [raw]
            if not values or any(isinstance(v, dict | list) or v is None for v in values):
                raise ConditionError(f"{operator} {key}: values must be strings, numbers or booleans")
            conditions.append(Condition(operator, key, [_text(v) for v in values], variables=variables, deny=deny))
    return ConditionBlock(conditions)
