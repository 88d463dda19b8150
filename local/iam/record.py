"""Every decision the local cloud made, kept as counts: who did what to which resource, allowed or denied, and
by which statement; and, against the policies the stack wrote, which grants were never exercised.

Least privilege measured as LocalStack's IAM policy stream and iamlive do it: a grant is *used* when an
allowed request matched its statement with that action; the grants of the stack's own principals that no
request used are *unused*, a list to prune. A session's decisions count for its role (sessions come and go;
the role is what the template grants).
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from local.iam.evaluator import Decision
from local.iam.principals import PrincipalKind

KEPT = 50_000  # distinct (principal, action, resource, outcome) rows; beyond, the counts go on in "other"


@dataclass(frozen=True)
class Grant:
    """One Allow statement's action pattern on one resource pattern, for one principal."""

    principal: str  # a role ARN, or the service / account a resource policy names
    action: str  # as written: "sqs:ReceiveMessage", "kms:GenerateDataKey*"
    resource: str
    policy: str
    statement: str  # Sid, or the index


def principal_label(decision: Decision) -> str:
    p = decision.request.principal
    return p.role_arn or p.arn if p.kind is PrincipalKind.ROLE_SESSION else p.arn


class DecisionRecord:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: Counter[tuple[str, str, str, bool, str]] = Counter()
        self.used: set[tuple[str, str, str]] = set()  # (policy, statement, lower-cased action)
        self.other = 0

    def add(self, decision: Decision) -> None:
        r = decision.request
        key = (principal_label(decision), r.action, r.resource, decision.allowed,
               str(decision.statement) if decision.statement else decision.reason)
        with self.lock:
            if key in self.rows or len(self.rows) < KEPT:
                self.rows[key] += 1
            else:
                self.other += 1
            for ref in decision.allowed_by:
                self.used.add((ref.policy, ref.sid if ref.sid is not None else str(ref.index), r.action.lower()))

    def rows_as_dicts(self, allowed: bool) -> list[dict[str, Any]]:
        with self.lock:
            items = [(k, n) for k, n in self.rows.items() if k[3] is allowed]
        return [{"principal": p, "action": a, "resource": res, "statement" if allowed else "reason": why,
                 "count": n} for (p, a, res, _, why), n in sorted(items)]

    def unused(self, grants: Iterable[Grant]) -> list[dict[str, str]]:
        """The grants no allowed request exercised (an action pattern counts if any action it covers was used)."""
        with self.lock:
            used = list(self.used)
        found = []
        for grant in grants:
            pattern = grant.action.lower()
            if not any(policy == grant.policy and sid == grant.statement and fnmatch.fnmatchcase(action, pattern)
                       for policy, sid, action in used):
                found.append({"principal": grant.principal, "action": grant.action, "resource": grant.resource,
                              "policy": grant.policy, "statement": grant.statement})
        return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def grants_of(policy_name: str, document: str | dict[str, Any], principal: str | None) -> list[Grant]:
    """The Allow grants a policy document writes (identity: for `principal`; resource: for whom it names)."""
    loaded = json.loads(document) if isinstance(document, str) else document
    found = []
    for index, statement in enumerate(_as_list(loaded.get("Statement"))):
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        sid = statement.get("Sid") if statement.get("Sid") is not None else str(index)
        whom = [principal] if principal else _principal_names(statement.get("Principal"))
        for who in whom:
            for action in _as_list(statement["Action"]):
                for resource in _as_list(statement.get("Resource", "*")):
                    found.append(Grant(str(who), str(action), str(resource), policy_name, str(sid)))
    return found


def _principal_names(value: Any) -> list[str]:
    if value == "*":
        return ["*"]
    if isinstance(value, dict):
        return [str(v) for values in value.values() for v in _as_list(values)]
    return []
