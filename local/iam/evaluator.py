"""The decision AWS takes on one request, from the identity policies of the caller and the policy of the resource.

Emulates "Policy evaluation logic", "Policy evaluation for requests within a single account", "Cross-account
policy evaluation logic" (IAM User Guide) and, for KMS, "Key policies in AWS KMS" and "Allows access to the AWS
account and enables IAM policies" (AWS KMS Developer Guide). Permissions boundaries, session policies, SCPs and
RCPs are not modelled: nothing in the template writes them.

1. An explicit Deny in any applicable statement, identity or resource, decides (the root user included).
2. Service principals (sns.amazonaws.com, ...) and anonymous callers have no identity policies: the resource
   policy alone decides, and only a statement naming them (or "*") can allow.
3. Same account, not KMS: an Allow in an identity policy, or in a resource policy statement naming the caller
   directly ("*", the user, the role, the role session), suffices. A resource policy naming the account
   ("123456789012", arn:aws:iam::123456789012:root) delegates to the account: it allows the root user, and any
   other principal still needs an identity Allow. The root user is allowed everything else.
4. KMS (key_policy=True): the key policy must allow, directly, or by naming the account, which allows the root
   user and enables IAM policies, so that other principals then also need an identity Allow. A key without a key
   policy, or one that does not allow the root user, is unusable even by the root user.
5. Across accounts both sides must allow: an identity Allow in the caller's account (the root user has it
   implicitly) and a resource policy statement naming the caller or its account.

How a statement names the caller (directly, or by delegation to its account) is principals.py's part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from local.iam.conditions import context_values
from local.iam.documents import Policy, PolicyKind, PolicySource, Statement, parse_policy
from local.iam.principals import AWS_KINDS, DIRECT, Principal, PrincipalKind, names_caller


class DecisionKind(StrEnum):
    EXPLICIT_DENY = "explicit_deny"
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit_deny"


_A = {PolicyKind.IDENTITY: "an", PolicyKind.RESOURCE: "a"}
_ACTIONS_REMEMBERED = 1024  # per policy: actions are few (the local cloud serves a few dozen)
_NO_CONTEXT: dict[str, Any] = {}  # Action holds no policy variables


@dataclass(frozen=True, slots=True)
class StatementRef:
    """One statement of one named policy: what decided, or what allowed."""

    policy: str
    kind: PolicyKind
    sid: str | None
    index: int

    def __str__(self) -> str:
        return f"{self.policy}#{self.sid if self.sid is not None else self.index}"


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """A parsed policy with its name or ARN (the role's inline policy name, a managed policy ARN, a queue ARN)."""

    name: str
    policy: Policy
    pairs: tuple[tuple[Statement, StatementRef], ...] = field(init=False, repr=False, compare=False)
    _by_action: dict[str, tuple[tuple[Statement, StatementRef], ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        refs = tuple((s, StatementRef(self.name, self.policy.kind, s.sid, s.index)) for s in self.policy.statements)
        object.__setattr__(self, "pairs", refs)

    def for_action(self, action: str) -> tuple[tuple[Statement, StatementRef], ...]:
        """The statements whose Action/NotAction covers the (lower-cased) action, remembered per action."""
        found = self._by_action.get(action)
        if found is None:
            if len(self._by_action) >= _ACTIONS_REMEMBERED:
                self._by_action.clear()
            found = tuple(pair for pair in self.pairs if pair[0].actions.matches(action, _NO_CONTEXT))
            self._by_action[action] = found
        return found

    @classmethod
    def parse(cls, name: str, document: str | Mapping[str, Any], source: PolicySource | PolicyKind) -> NamedPolicy:
        return cls(name, parse_policy(document, source))


@dataclass(frozen=True, slots=True)
class Request:
    """One AWS call: who, which action (service:Name), on which resource ARN, with which context keys."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    kind: DecisionKind
    statement: StatementRef | None  # the deny, or the allow that decided; None for an implicit deny
    reason: str  # "with an explicit deny in a resource-based policy", "because no identity-based policy allows ..."
    allowed_by: tuple[StatementRef, ...]  # every Allow statement that matched (empty after an explicit deny)
    warnings: tuple[str, ...]  # condition keys the evaluator does not know and the request lacked
    request: Request

    def message(self) -> str:
        """AWS's AccessDenied sentence for a refused request."""
        if self.allowed:
            raise ValueError("the request was allowed")
        r = self.request
        return (f"User: {r.principal.arn} is not authorized to perform: {r.action} on resource: {r.resource} "
                f"{self.reason}")


def _context(request: Request, resource_account: str, identity: Sequence[NamedPolicy],
             resource_policy: NamedPolicy | None) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for key, value in request.context.items():
        values = context_values(value)
        if values is not None:
            context[key.lower()] = values
    context.update(request.principal.facts.keys)  # facts about the caller are not the caller's to choose
    context.setdefault("aws:resourceaccount", (resource_account,))
    if request.principal.account and request.action[:4].lower() == "kms:":
        context.setdefault("kms:calleraccount", (request.principal.account,))
    if (resource_policy is not None and resource_policy.policy.uses_time) or _uses_time(identity):
        now = time.time()
        context.setdefault("aws:epochtime", (str(int(now)),))
        context.setdefault("aws:currenttime", (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),))
    return context


def _uses_time(policies: Sequence[NamedPolicy]) -> bool:
    for named in policies:  # noqa: SIM110 - cheaper than any() over a generator, once per decision
        if named.policy.uses_time:
            return True
    return False


def evaluate(request: Request, *, identity_policies: Sequence[NamedPolicy] = (),
             resource_policy: NamedPolicy | None = None, resource_account: str, key_policy: bool = False,
             on_unknown_key: Callable[[str], None] | None = None) -> Decision:
    """Allow or deny the request as AWS would (see the module docstring for the rules).

    identity_policies are the caller's (ignored for the root user, services and anonymous callers, who have
    none); resource_policy is the resource's (the key policy when key_policy=True); resource_account owns the
    resource. on_unknown_key is called once per unknown condition key the request lacked (see conditions.py).
    """
    principal, action, resource = request.principal, request.action.lower(), request.resource
    identity = identity_policies if principal.facts.has_identity else ()
    context = _context(request, resource_account, identity, resource_policy)
    warnings: list[str] = []
    allowed_by: list[StatementRef] = []
    identity_allow: StatementRef | None = None
    direct: StatementRef | None = None
    delegated: StatementRef | None = None
    for named in identity:
        for statement, ref in named.for_action(action):
            if statement.resources.matches(resource, context) and statement.conditions.holds(context, warnings):
                if statement.deny:
                    return _decide(request, DecisionKind.EXPLICIT_DENY, ref, [], warnings, on_unknown_key)
                allowed_by.append(ref)
                identity_allow = identity_allow or ref
    for statement, ref in resource_policy.for_action(action) if resource_policy else ():
        how = names_caller(statement, principal)
        if how and statement.resources.matches(resource, context) and statement.conditions.holds(context, warnings):
            if statement.deny:
                return _decide(request, DecisionKind.EXPLICIT_DENY, ref, [], warnings, on_unknown_key)
            allowed_by.append(ref)
            if how == DIRECT:
                direct = direct or ref
            else:
                delegated = delegated or ref
    allowed, ref, missing = _settle(principal, resource_account, key_policy, identity_allow, direct, delegated)
    kind = DecisionKind.ALLOW if allowed else DecisionKind.IMPLICIT_DENY
    return _decide(request, kind, ref, allowed_by, warnings, on_unknown_key, missing)


Ref = StatementRef | None


def _settle(principal: Principal, resource_account: str, key_policy: bool, identity_allow: Ref, direct: Ref,
            delegated: Ref) -> tuple[bool, Ref, PolicyKind]:
    """(allowed, the statement that decided, the side that lacks an Allow) once no Deny applied."""
    kind, identity, resource = principal.kind, PolicyKind.IDENTITY, PolicyKind.RESOURCE
    root = kind is PrincipalKind.ROOT
    same_account = principal.account == resource_account
    identity_ok = identity_allow is not None or root
    if kind not in AWS_KINDS:
        return direct is not None, direct, resource
    if key_policy:
        if direct is None and delegated is None:
            return False, None, resource
        if direct is not None and same_account:
            return True, direct, identity
        return identity_ok, (identity_allow or direct or delegated) if identity_ok else None, identity
    if same_account:
        return root or identity_allow is not None or direct is not None, identity_allow or direct, identity
    if not identity_ok:
        return False, None, identity
    if direct is None and delegated is None:
        return False, None, resource
    return True, identity_allow or direct or delegated, identity


def _decide(request: Request, kind: DecisionKind, ref: StatementRef | None, allowed_by: list[StatementRef],
            warnings: list[str], on_unknown_key: Callable[[str], None] | None,
            missing: PolicyKind = PolicyKind.IDENTITY) -> Decision:
    if on_unknown_key is not None:
        for key in warnings:
            on_unknown_key(key)
    if kind is DecisionKind.EXPLICIT_DENY:
        assert ref is not None  # an explicit deny always has its statement
        reason = f"with an explicit deny in {_A[ref.kind]} {ref.kind.value}-based policy"
    elif kind is DecisionKind.IMPLICIT_DENY:
        reason = f"because no {missing.value}-based policy allows the {request.action} action"
    else:
        reason = f"allowed by {ref.kind.value}-based policy statement {ref}" if ref else "allowed: the root user"
    return Decision(kind is DecisionKind.ALLOW, kind, ref, reason, tuple(allowed_by), tuple(warnings), request)


def once(callback: Callable[[str], None]) -> Callable[[str], None]:
    """An on_unknown_key callback that passes each key on only the first time, across decisions."""
    seen: set[str] = set()

    def report(key: str) -> None:
        if key not in seen:
            seen.add(key)
            callback(key)
    return report
