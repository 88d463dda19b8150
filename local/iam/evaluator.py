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

Principal matching: a role ARN covers every session of the role; an account covers every principal in it but as
delegation (rule 3). For NotPrincipal, AWS "might validate the account first, then the role, and then the
assumed-role user", so the documented example lists all three. Both readings here fail closed: a NotPrincipal
Deny spares only a caller whose every layer (account, role, session or user) is listed, and a NotPrincipal Allow
grants only a caller none of whose layers is listed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from local.iam.conditions import context_values
from local.iam.documents import Policy, PolicyKind, PolicySource, Statement, parse_policy


class PrincipalKind(StrEnum):
    ROOT = "root"
    ROLE_SESSION = "role_session"
    ROLE = "role"
    USER = "user"
    SERVICE = "service"
    ANONYMOUS = "anonymous"


class DecisionKind(StrEnum):
    EXPLICIT_DENY = "explicit_deny"
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit_deny"


_AWS_KINDS = (PrincipalKind.ROOT, PrincipalKind.ROLE_SESSION, PrincipalKind.ROLE, PrincipalKind.USER)
_PRINCIPAL_TYPES = {PrincipalKind.ROOT: "Account", PrincipalKind.USER: "User", PrincipalKind.ROLE: "AssumedRole",
                    PrincipalKind.ROLE_SESSION: "AssumedRole", PrincipalKind.ANONYMOUS: "Anonymous"}
DIRECT, DELEGATED = 1, 2  # how a resource policy statement names the caller
_A = {PolicyKind.IDENTITY: "an", PolicyKind.RESOURCE: "a"}
_ACTIONS_REMEMBERED = 1024  # per policy: actions are few (the local cloud serves a few dozen)
_NO_CONTEXT: dict[str, Any] = {}  # Action holds no policy variables
_ROOT, _SERVICE = PrincipalKind.ROOT, PrincipalKind.SERVICE


@dataclass(frozen=True, slots=True)
class _Facts:
    has_identity: bool  # the caller has identity policies (users, roles, role sessions)
    direct: frozenset[str]  # principal ARNs (and unique ids) that name exactly this caller
    layers: tuple[tuple[bool, str], ...]  # (is_account, value): what NotPrincipal must list to spare the caller
    keys: dict[str, tuple[str, ...]]  # the global condition keys the caller defines


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes a request. Build one with the class methods; `arn` is the session ARN for a role session."""

    kind: PrincipalKind
    arn: str
    account: str | None = None
    role_arn: str | None = None  # for sessions: arn:aws:iam::ACCOUNT:role/PATH/ROLE
    unique_id: str | None = None  # AIDA... / AROA..., for aws:userid when known
    facts: _Facts = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "facts", _facts(self))

    @classmethod
    def root(cls, account: str, partition: str = "aws") -> Principal:
        return cls(PrincipalKind.ROOT, f"arn:{partition}:iam::{account}:root", account)

    @classmethod
    def session(cls, role_arn: str, session_name: str, unique_id: str | None = None) -> Principal:
        prefix, account, path = _split_iam_arn(role_arn, "role/")
        arn = f"{prefix.replace(':iam:', ':sts:')}{account}:assumed-role/{path.rsplit('/', 1)[-1]}/{session_name}"
        return cls(PrincipalKind.ROLE_SESSION, arn, account, role_arn, unique_id)

    @classmethod
    def role(cls, role_arn: str, unique_id: str | None = None) -> Principal:
        return cls(PrincipalKind.ROLE, role_arn, _split_iam_arn(role_arn, "role/")[1], role_arn, unique_id)

    @classmethod
    def user(cls, user_arn: str, unique_id: str | None = None) -> Principal:
        return cls(PrincipalKind.USER, user_arn, _split_iam_arn(user_arn, "user/")[1], None, unique_id)

    @classmethod
    def service(cls, name: str) -> Principal:
        return cls(PrincipalKind.SERVICE, name.lower())

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(PrincipalKind.ANONYMOUS, "anonymous")


def _split_iam_arn(arn: str, resource_type: str) -> tuple[str, str, str]:
    """(arn:PARTITION:iam::, ACCOUNT, PATH/NAME) of arn:PARTITION:iam::ACCOUNT:role/PATH/NAME."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith(resource_type):
        raise ValueError(f"not an IAM {resource_type[:-1]} ARN: {arn}")
    return f"{parts[0]}:{parts[1]}:iam::", parts[4], parts[5][len(resource_type):]


def _facts(p: Principal) -> _Facts:
    keys: dict[str, tuple[str, ...]] = {}
    if p.kind in _PRINCIPAL_TYPES:
        keys["aws:principaltype"] = (_PRINCIPAL_TYPES[p.kind],)
    if p.kind is PrincipalKind.SERVICE:
        keys.update({"aws:principalservicename": (p.arn,), "aws:principalisawsservice": ("true",)})
        return _Facts(False, frozenset(), ((False, p.arn),), keys)
    if p.kind is PrincipalKind.ANONYMOUS:
        return _Facts(False, frozenset(), (), keys)
    account = p.account or ""
    keys.update({"aws:principalaccount": (account,), "aws:principalarn": (p.role_arn or p.arn,),
                 "aws:principalisawsservice": ("false",)})
    direct = {p.arn} if p.kind is not PrincipalKind.ROOT else set()
    layers: list[tuple[bool, str]] = [(True, account)]
    if p.role_arn:
        direct.add(p.role_arn)
        layers.append((False, p.role_arn))
    if p.kind in (PrincipalKind.ROLE_SESSION, PrincipalKind.USER):
        layers.append((False, p.arn))
    if p.unique_id:
        direct.add(p.unique_id)
        session = p.arn.rsplit("/", 1)[-1]
        keys["aws:userid"] = (f"{p.unique_id}:{session}" if p.kind is PrincipalKind.ROLE_SESSION else p.unique_id,)
    if p.kind is PrincipalKind.ROOT:
        keys["aws:userid"] = (account,)
    if p.kind is PrincipalKind.USER:
        keys["aws:username"] = (p.arn.rsplit("/", 1)[-1],)
    return _Facts(p.kind is not PrincipalKind.ROOT, frozenset(direct), tuple(layers), keys)


def names_caller(statement: Statement, principal: Principal) -> int:
    """DIRECT, DELEGATED (the statement names the caller's account) or 0: does the statement cover the caller?"""
    principals, facts = statement.principals, principal.facts
    if principals is None:
        return 0
    if statement.not_principal:
        if principals.any:
            return 0
        listed = [value in principals.accounts if is_account else value in principals.arns or
                  value in principals.services for is_account, value in facts.layers]
        # Fail closed: a Deny spares only a caller listed at every layer, an Allow skips one listed at any.
        excepted = listed and (all(listed) if statement.deny else any(listed))
        return 0 if excepted else DIRECT
    if principals.any:
        return DIRECT
    if principal.kind is _SERVICE:
        return DIRECT if principal.arn in principals.services else 0
    if not principals.arns.isdisjoint(facts.direct):
        return DIRECT
    if principal.account in principals.accounts:
        return DIRECT if principal.kind is _ROOT else DELEGATED
    return 0


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
    if kind not in _AWS_KINDS:
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
        reason = f"with an explicit deny in {_A[ref.kind]} {ref.kind.value}-based policy"  # type: ignore[index,union-attr]
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
