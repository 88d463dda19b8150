"""IAM policy documents: parsed, validated and compiled once into immutable statements.

Emulates the grammar of "IAM JSON policy element reference" (Version, Id, Statement, Sid, Effect, Principal,
NotPrincipal, Action, NotAction, Resource, NotResource, Condition) as IAM and the services holding resource
policies check it, with IAM's MalformedPolicyDocument wording ("Syntax errors in policy.", "Missing required field
Effect", "Policy statement must contain actions.", "Has prohibited field Principal", "Invalid principal in
policy", ...), and the size quotas of "IAM and AWS STS quotas" (inline policies of a role: 10,240 characters in
total, managed policies 6,144, whitespace not counted) and of the SQS (20,480 bytes), SNS (30,720), KMS key
(32,768) and Lambda function (20,480) policies.

Version is "2012-10-17" or "2008-10-17"; a missing Version means 2008-10-17, where policy variables are plain
text. Only managed policies must be 2012-10-17 ("Policy document must be version 2012-10-17 or greater.").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from local.iam.conditions import ConditionBlock, ConditionError, compile_conditions
from local.iam.keys import TIME_KEYS
from local.iam.patterns import Template, any_of, has_wildcard, split_templates

CURRENT, LEGACY = "2012-10-17", "2008-10-17"
SYNTAX = "Syntax errors in policy."
_STATEMENT_FIELDS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                               "NotResource", "Condition"})
_ACCOUNT = re.compile(r"^(\d{12})$")
_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_ARN_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:(iam::\d{12}:(user|role)/\S+|sts::\d{12}:(assumed-role/[^/\s]+/\S+"
                            r"|federated-user/\S+))$")
_UNIQUE_ID = re.compile(r"^A[A-Z0-9]{15,127}$")


class MalformedPolicy(ValueError):
    """A document IAM (or the service holding it) refuses; str() is the service's message."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message, self.detail = message, detail


class PolicyTooLarge(ValueError):
    """A document over its quota: `size` counted as the quota counts it (characters or bytes)."""

    def __init__(self, limit: int, size: int, unit: str = "characters") -> None:
        super().__init__(f"Maximum policy size of {limit} {unit} exceeded ({size} {unit})")
        self.limit, self.size, self.unit = limit, size, unit


class PolicyKind(Enum):
    IDENTITY = "identity"
    RESOURCE = "resource"


class PolicySource(Enum):
    """Where a document lives: its kind, its quota, and whether the quota counts bytes (else non-space chars)."""

    ROLE_INLINE = (PolicyKind.IDENTITY, 10_240, False)
    MANAGED = (PolicyKind.IDENTITY, 6_144, False)
    SQS_QUEUE = (PolicyKind.RESOURCE, 20_480, True)
    SNS_TOPIC = (PolicyKind.RESOURCE, 30_720, True)
    KMS_KEY = (PolicyKind.RESOURCE, 32_768, True)
    LAMBDA_FUNCTION = (PolicyKind.RESOURCE, 20_480, True)
    ROLE_TRUST = (PolicyKind.RESOURCE, 2_048, False)  # a role's trust policy: no Resource (the role itself)

    @property
    def kind(self) -> PolicyKind:
        return self.value[0]

    @property
    def limit(self) -> int:
        return self.value[1]

    def measure(self, text: str) -> int:
        return len(text.encode()) if self.value[2] else len("".join(text.split()))


class Names:
    """The compiled Action/NotAction or Resource/NotResource of a statement: `matches(value, context)`."""

    __slots__ = ("any", "exact", "negated", "regex", "templates")

    def __init__(self, patterns: list[str], *, negated: bool, fold: bool, variables: bool) -> None:
        self.negated = negated
        plain, templates = split_templates(patterns, variables)
        self.templates: tuple[Template, ...] = tuple(templates)
        plain = [p.lower() for p in plain] if fold else plain
        self.any = "*" in plain
        self.exact = frozenset(p for p in plain if not has_wildcard(p))
        self.regex = any_of([p for p in plain if has_wildcard(p)])

    def matches(self, value: str, context: Mapping[str, Any]) -> bool:
        """Whether the statement covers the value (an Action must come lower-cased)."""
        found = self.any or value in self.exact or (self.regex is not None and self.regex.fullmatch(value) is not None)
        if not found and self.templates:
            found = any((r := t.regex_for(context)) is not None and r.fullmatch(value) for t in self.templates)
        return found != self.negated


@dataclass(frozen=True, slots=True)
class Principals:
    """A Principal or NotPrincipal element: "*" (any), account ids, principal ARNs, service names."""

    any: bool
    accounts: frozenset[str]  # 12-digit ids, from "123456789012" or arn:aws:iam::123456789012:root
    arns: frozenset[str]  # users, roles, role sessions, federated users, unique ids
    services: frozenset[str]  # lower case, e.g. sns.amazonaws.com
    others: frozenset[str]  # Federated and CanonicalUser principals: nothing in this package makes such requests


@dataclass(frozen=True, slots=True)
class Statement:
    index: int
    sid: str | None
    deny: bool
    actions: Names
    resources: Names
    principals: Principals | None
    not_principal: bool
    conditions: ConditionBlock

    @property
    def effect(self) -> str:
        return "Deny" if self.deny else "Allow"

    def applies(self, action: str, resource: str, context: Mapping[str, Any], warnings: list[str]) -> bool:
        """Action (lower-cased), Resource and Condition all match; the caller has matched the principal."""
        return (self.actions.matches(action, context) and self.resources.matches(resource, context)
                and self.conditions.holds(context, warnings))


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    id: str | None
    kind: PolicyKind
    statements: tuple[Statement, ...]
    size: int  # as the source's quota counts it (0 when parsed for a kind alone)
    condition_keys: frozenset[str]
    unknown_condition_keys: tuple[str, ...]
    uses_time: bool  # a condition reads aws:CurrentTime or aws:EpochTime


def _strings(value: Any, field: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise MalformedPolicy(SYNTAX, f"{field} must be a string or a list of strings")
    return values


def _principals(element: Any) -> Principals:
    if element == "*":
        return Principals(True, frozenset(), frozenset(), frozenset(), frozenset())
    if not isinstance(element, dict) or not element:
        raise MalformedPolicy("Invalid principal in policy", f"Principal {element!r}")
    any_, accounts, arns, services, others = False, set(), set(), set(), set()
    for kind, raw in element.items():
        for value in _strings(raw, f"Principal {kind}"):
            if kind == "AWS" and value == "*":
                any_ = True
            elif kind == "AWS" and (account := _ACCOUNT.match(value) or _ROOT.match(value)):
                accounts.add(account.group(1))
            elif kind == "AWS" and not has_wildcard(value) and (_ARN_PRINCIPAL.match(value) or _UNIQUE_ID.match(value)):
                arns.add(value)
            elif kind == "Service" and value and not has_wildcard(value):
                services.add(value.lower())
            elif kind in ("Federated", "CanonicalUser") and value:
                others.add(f"{kind}:{value}")
            else:
                raise MalformedPolicy("Invalid principal in policy", f"{kind}: {value}")
    return Principals(any_, frozenset(accounts), frozenset(arns), frozenset(services), frozenset(others))


def _names(statement: dict[str, Any], field: str, missing: str, *, fold: bool, variables: bool) -> Names:
    negative = "Not" + field
    if field in statement and negative in statement:
        raise MalformedPolicy(SYNTAX, f"a statement has both {field} and {negative}")
    if field not in statement and negative not in statement:
        raise MalformedPolicy(missing)
    patterns = _strings(statement.get(field, statement.get(negative)), field)
    if not patterns:
        raise MalformedPolicy(missing)
    for pattern in patterns:
        if fold and pattern != "*" and (":" not in pattern or not pattern.split(":")[0]):
            raise MalformedPolicy("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
        if not fold and pattern != "*" and not (pattern.startswith("arn:") and pattern.count(":") >= 5):
            raise MalformedPolicy(f'Resource {pattern} must be in ARN format or "*".')
    return Names(patterns, negated=negative in statement, fold=fold, variables=variables and not fold)


def _statement(index: int, raw: Any, kind: PolicyKind, variables: bool, *, trust: bool = False) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicy(SYNTAX, "a statement must be an object")
    unknown = set(raw) - _STATEMENT_FIELDS
    if unknown:
        raise MalformedPolicy(SYNTAX, f"unknown statement fields {sorted(unknown)}")
    if "Effect" not in raw:
        raise MalformedPolicy("Missing required field Effect")
    if raw["Effect"] not in ("Allow", "Deny"):
        raise MalformedPolicy(SYNTAX, f"Effect must be Allow or Deny, not {raw['Effect']!r}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicy(SYNTAX, "Sid must be a string")
    present = [field for field in ("Principal", "NotPrincipal") if field in raw]
    if kind is PolicyKind.IDENTITY and present:
        raise MalformedPolicy(f"Has prohibited field {present[0]}")
    if kind is PolicyKind.RESOURCE and not present:
        raise MalformedPolicy("Missing required field Principal")
    if len(present) > 1:
        raise MalformedPolicy(SYNTAX, "a statement has both Principal and NotPrincipal")
    deny = raw["Effect"] == "Deny"
    try:
        conditions = compile_conditions(raw.get("Condition"), variables=variables, deny=deny)
    except ConditionError as error:
        raise MalformedPolicy(SYNTAX, str(error)) from error
    return Statement(
        index=index, sid=sid, deny=deny,
        actions=_names(raw, "Action", "Policy statement must contain actions.", fold=True, variables=variables),
        resources=(_names({"Resource": "*"}, "Resource", "", fold=False, variables=False)
                   if trust and "Resource" not in raw and "NotResource" not in raw else
                   _names(raw, "Resource", "Policy statement must contain resources.", fold=False,
                          variables=variables)),
        principals=_principals(raw[present[0]]) if present else None,
        not_principal=present == ["NotPrincipal"], conditions=conditions)


def _load(document: str | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    if isinstance(document, str):
        try:
            loaded = json.loads(document)
        except ValueError as error:
            raise MalformedPolicy(SYNTAX, str(error)) from error
        text = document
    elif isinstance(document, Mapping):
        loaded, text = dict(document), json.dumps(document, separators=(",", ":"))
    else:
        raise MalformedPolicy(SYNTAX, "a policy document is a JSON object")
    if not isinstance(loaded, dict):
        raise MalformedPolicy(SYNTAX, "a policy document is a JSON object")
    return loaded, text


def parse_policy(document: str | Mapping[str, Any], source: PolicySource | PolicyKind) -> Policy:
    """Parse, validate and compile a policy document (JSON text or a dict).

    With a PolicySource the document's size is checked against that source's quota; with a PolicyKind alone it
    is not. Raises MalformedPolicy or PolicyTooLarge.
    """
    loaded, text = _load(document)
    kind = source if isinstance(source, PolicyKind) else source.kind
    size = 0
    if isinstance(source, PolicySource):
        size = source.measure(text)
        if size > source.limit:
            raise PolicyTooLarge(source.limit, size, "bytes" if source.value[2] else "characters")
    unknown = set(loaded) - {"Version", "Id", "Statement"}
    if unknown:
        raise MalformedPolicy(SYNTAX, f"unknown policy fields {sorted(unknown)}")
    version = loaded.get("Version", LEGACY)
    if version not in (CURRENT, LEGACY):
        raise MalformedPolicy("The policy failed legacy parsing", f"Version {version!r}")
    if source is PolicySource.MANAGED and version != CURRENT:
        raise MalformedPolicy("Policy document must be version 2012-10-17 or greater.")
    policy_id = loaded.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise MalformedPolicy(SYNTAX, "Id must be a string")
    if "Statement" not in loaded:
        raise MalformedPolicy("Missing required field Statement")
    raw = loaded["Statement"]
    raw_statements = raw if isinstance(raw, list) else [raw]
    if not raw_statements:
        raise MalformedPolicy(SYNTAX, "Statement is empty")
    trust = source is PolicySource.ROLE_TRUST
    statements = tuple(_statement(i, s, kind, version == CURRENT, trust=trust) for i, s in enumerate(raw_statements))
    keys = frozenset().union(*(s.conditions.keys for s in statements))
    unknown_keys = tuple(sorted({k for s in statements for k in s.conditions.unknown_keys}))
    return Policy(version=version, id=policy_id, kind=kind, statements=statements, size=size, condition_keys=keys,
                  unknown_condition_keys=unknown_keys, uses_time=not keys.isdisjoint(TIME_KEYS))


def check_role_inline_total(policies: Iterable[Policy]) -> int:
    """The characters a role's inline policies use together; PolicyTooLarge past IAM's 10,240."""
    total = sum(p.size for p in policies)
    if total > PolicySource.ROLE_INLINE.limit:
        raise PolicyTooLarge(PolicySource.ROLE_INLINE.limit, total)
    return total
