"""Who makes a request, the global condition keys that follow from it, and whether a statement names it.

Emulates "AWS JSON policy elements: Principal" and "NotPrincipal" and the principal keys of "AWS global condition
context keys" (IAM User Guide). Callers are the account root user, IAM users, IAM roles and their STS sessions
(arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), AWS service principals (sns.amazonaws.com) and anonymous
callers. Every principal defines aws:PrincipalType (Account, User, AssumedRole, Anonymous) except a service,
which defines aws:PrincipalServiceName instead; AWS principals define aws:PrincipalAccount, aws:PrincipalArn
(the role ARN for a session), aws:PrincipalIsAWSService, and aws:userid / aws:username where they apply.

A statement names a caller DIRECT ("*", its user, role or session ARN, its service, or its account when the
caller is the root user) or DELEGATED (its account, for any other caller: the account's identity policies must
then allow too). A role ARN covers every session of the role. For NotPrincipal, AWS "might validate the account
first, then the role, and then the assumed-role user", so the documented example lists all three. Both readings
here fail closed: a NotPrincipal Deny spares only a caller whose every layer (account, role, session or user) is
listed, and a NotPrincipal Allow grants only a caller none of whose layers is listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from local.iam.documents import Statement


class PrincipalKind(StrEnum):
    ROOT = "root"
    ROLE_SESSION = "role_session"
    ROLE = "role"
    USER = "user"
    SERVICE = "service"
    ANONYMOUS = "anonymous"


AWS_KINDS = (PrincipalKind.ROOT, PrincipalKind.ROLE_SESSION, PrincipalKind.ROLE, PrincipalKind.USER)
_PRINCIPAL_TYPES = {PrincipalKind.ROOT: "Account", PrincipalKind.USER: "User", PrincipalKind.ROLE: "AssumedRole",
                    PrincipalKind.ROLE_SESSION: "AssumedRole", PrincipalKind.ANONYMOUS: "Anonymous"}
DIRECT, DELEGATED = 1, 2  # how a resource policy statement names the caller
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
