"""The one place the local cloud asks "may this principal do this?": for API calls (local/iam/gate.py), for the
hops AWS services make on their own (SNS delivering to a queue, Lambda polling a queue or assuming a
function's role, CloudWatch notifying a topic, API Gateway invoking a function), and for the KMS calls a
service makes on a caller's behalf (`kms:ViaService`).

Every decision is recorded (local/iam/record.py). With enforcement off (`ENFORCE_IAM=0`) decisions are still
made and recorded, and refusals are reported but not applied: the record then shows what AWS would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from local.iam.evaluator import Decision, Request, evaluate, once
from local.iam.identity import Identities
from local.iam.policy_store import PolicyStore
from local.iam.principals import Principal
from local.iam.record import DecisionRecord, Grant, grants_of

IN_AWS = {"aws:SecureTransport": "true"}  # service-to-service calls inside AWS are over TLS


def account_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] or None if len(parts) == 6 and parts[0] == "arn" else None


class Enforcer:
    def __init__(self, account: str, region: str, *, enabled: bool = True,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.account, self.region, self.enabled = account, region, enabled
        self.store = PolicyStore(account, region)
        self.identities = Identities(account)
        self.record = DecisionRecord()
        self.on_problem = on_problem or (lambda text: None)
        self.extra_managed: dict[str, tuple[str, ...]] = {}  # role name -> AWS-managed ARNs the deploy attached
        self.warn_unknown_key = once(lambda key: self.on_problem(
            f"condition key {key} is unknown to the local cloud: a statement that needs it is never met"))
        self.warn_would_refuse = once(lambda message: self.on_problem(
            f"ENFORCE_IAM=0: would refuse (reported once; the record counts each): {message}"))
        self.stack_roles: list[str] = []  # role names of the deployed stack (for unused grants)
        self.stack_resources: list[str] = []  # ARNs of its queues, topics, keys and functions

    # -- deciding ----------------------------------------------------------------------------------
    def decide(self, principal: Principal, action: str, resource: str,
               context: Mapping[str, Any] | None = None) -> Decision:
        """The decision AWS would take (recorded); the caller applies it with `refuses`."""
        if action.lower() == "sts:assumerole":
            resource_policy, key_policy = self.store.trust_policy(resource), False
        elif resource != "*":
            resource_policy, key_policy = self.store.resource_policy(resource)
        else:
            resource_policy, key_policy = None, False
        identity = self.store.identity_policies(principal, self.extra_managed)
        decision = evaluate(Request(principal, action, resource, dict(context or {})), identity_policies=identity,
                            resource_policy=resource_policy, resource_account=account_of(resource) or self.account,
                            key_policy=key_policy, on_unknown_key=self.warn_unknown_key)
        self.record.add(decision)
        self._report_store_problems()
        return decision

    def refuses(self, decision: Decision) -> bool:
        """True when the request must be refused (enforcement on); with it off, the refusal is only reported."""
        if decision.allowed:
            return False
        if not self.enabled:
            self.warn_would_refuse(decision.message())
        return self.enabled

    def first_refusal(self, principal: Principal, accesses: Iterable[tuple[str, str]],
                      context: Mapping[str, Any] | None = None) -> Decision | None:
        for action, resource in accesses:
            decision = self.decide(principal, action, resource, context)
            if self.refuses(decision):
                return decision
        return None

    def service_may(self, service: str, action: str, resource: str, source_arn: str | None = None) -> Decision:
        """A decision for an AWS service principal acting on a resource, with the context AWS gives it."""
        context = dict(IN_AWS)
        if source_arn:
            context.update({"aws:SourceArn": source_arn, "aws:SourceAccount": account_of(source_arn) or self.account})
        return self.decide(Principal.service(service), action, resource, context)

    def key_arn(self, key_id: str | None) -> str | None:
        """The ARN of a KMS key given as an id, an ARN or an alias (None: no such key, or none given)."""
        if not key_id:
            return None
        key = self.store.key(key_id)
        return str(key.arn) if key is not None else None

    def via_service(self, principal: Principal, action: str, key_id: str | None, service: str) -> Decision | None:
        """The KMS call a service makes for a caller (SNS encrypting a message): None when there is no key."""
        key_arn = self.key_arn(key_id)
        if key_arn is None:
            return None
        return self.decide(principal, action, key_arn,
                           {**IN_AWS, "kms:ViaService": f"{service}.{self.region}.amazonaws.com"})

    def _report_store_problems(self) -> None:
        while self.store.problems:
            self.on_problem(self.store.problems.pop(0))

    # -- what was used -----------------------------------------------------------------------------
    def stack_grants(self) -> list[Grant]:
        """Every Allow the stack's roles and resource policies write."""
        found: list[Grant] = []
        for name in self.stack_roles:
            role = self.store.role(f"arn:aws:iam::{self.account}:role/{name}")
            if role is None:
                continue
            for policy_name, document in role.policies.items():
                found += grants_of(f"{role.arn}/{policy_name}", document, role.arn)
            arns = dict(role.managed_policies)
            for arn in self.extra_managed.get(name, ()):
                arns.setdefault(arn, None)
            for arn, managed in arns.items():
                document = self.store.managed_document(arn, managed)
                if document is not None:
                    found += grants_of(arn, document, role.arn)
        for arn in self.stack_resources:
            policy, _ = self.store.resource_policy(arn)
            if policy is not None and policy.name in self.store.texts:
                found += grants_of(policy.name, self.store.texts[policy.name], None)
        return found

    def permissions(self) -> dict[str, Any]:
        return {"enforced": self.enabled, "denied": self.record.rows_as_dicts(False),
                "used": self.record.rows_as_dicts(True), "unused": self.record.unused(self.stack_grants())}
