"""The policies in force, as moto holds them now: each decision reads them afresh, so `PutRolePolicy`,
`AttachRolePolicy`, `SetQueueAttributes Policy`, `SetTopicAttributes Policy`, `PutKeyPolicy` and
`AddPermission` take effect on the next request. A document is parsed once per text (the cache is keyed
by the text itself, so a change is never served stale).

Identity policies: a role's inline and attached managed policies, AWS-managed ones included (their
documents come from moto's copy of AWS's managed policies, loaded on first use: the module takes 0.3 s
to import). Resource policies: an SQS queue's, an SNS topic's, a KMS key's (the key policy), a Lambda
function's (its permissions), and a role's trust policy for `sts:AssumeRole`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from local.iam.documents import MalformedPolicy, PolicySource, PolicyTooLarge
from local.iam.evaluator import NamedPolicy
from local.iam.principals import Principal, PrincipalKind

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"
_CACHE_LIMIT = 4096


class PolicyStore:
    """Reads policies from moto's backends (one account, one region) and parses each document once."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region
        self.lock = threading.Lock()
        self.parsed: dict[tuple[str, PolicySource, str], NamedPolicy | None] = {}
        self.texts: dict[str, str] = {}  # policy name -> the text last read (for listing its grants)
        self.aws_managed: dict[str, Any] | None = None
        self.problems: list[str] = []  # a stored policy that does not parse: it grants nothing (said once)

    # -- parsing -----------------------------------------------------------------------------------
    def named(self, name: str, document: Any, source: PolicySource) -> NamedPolicy | None:
        text = document if isinstance(document, str) else json.dumps(document)
        self.texts[name] = text
        key = (name, source, text)
        found = self.parsed.get(key, False)
        if found is not False:
            return found  # type: ignore[return-value]
        try:
            policy: NamedPolicy | None = NamedPolicy.parse(name, text, source)
        except (MalformedPolicy, PolicyTooLarge) as error:
            policy = None
            self.problems.append(f"the policy {name} does not parse, so it grants nothing: {error}")
        with self.lock:
            if len(self.parsed) >= _CACHE_LIMIT:
                self.parsed.clear()
            self.parsed[key] = policy
        return policy

    # -- identity ----------------------------------------------------------------------------------
    def _iam(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account]["aws"]

    def role(self, role_arn: str) -> Any | None:
        name = role_arn.rsplit("/", 1)[-1]
        try:
            return self._iam().get_role(name)
        except Exception:  # moto's NoSuchEntity: deleted, or never there
            return None

    def managed_document(self, arn: str, policy: Any) -> Any:
        if policy is not None:
            return next((v.document for v in policy.versions if v.is_default), None)
        if arn.startswith(AWS_MANAGED_PREFIX):
            if self.aws_managed is None:
                from moto.iam.aws_managed_policies import aws_managed_policies_data

                self.aws_managed = json.loads(aws_managed_policies_data)
            entry = self.aws_managed.get(arn.rsplit("/", 1)[-1])
            return entry["Document"] if entry else None
        return None

    def attached(self, owner: Any, extra_arns: tuple[str, ...] = ()) -> list[NamedPolicy]:
        found = []
        for name, document in owner.policies.items():
            policy = self.named(f"{owner.arn}/{name}", document, PolicySource.ROLE_INLINE)
            if policy:
                found.append(policy)
        arns = dict(owner.managed_policies)
        for arn in extra_arns:
            arns.setdefault(arn, None)
        for arn, managed in arns.items():
            document = self.managed_document(arn, managed)
            policy = self.named(arn, document, PolicySource.MANAGED) if document is not None else None
            if policy:
                found.append(policy)
        return found

    def identity_policies(self, principal: Principal, extra_managed: dict[str, tuple[str, ...]]) -> list[NamedPolicy]:
        """The inline and managed policies of the caller's role or user (a root or service caller has none)."""
        if principal.kind in (PrincipalKind.ROLE_SESSION, PrincipalKind.ROLE):
            role_arn = principal.role_arn or principal.arn
            role = self.role(role_arn)
            return self.attached(role, extra_managed.get(role.name, ())) if role else []
        if principal.kind is PrincipalKind.USER:
            try:
                user = self._iam().get_user(principal.arn.rsplit("/", 1)[-1])
            except Exception:
                return []
            policies = self.attached(user)
            for group in self._iam().get_groups_for_user(user.name):
                policies += self.attached(group)
            return policies
        return []

    # -- resources ---------------------------------------------------------------------------------
    def trust_policy(self, role_arn: str) -> NamedPolicy | None:
        role = self.role(role_arn)
        if role is None:
            return None
        return self.named(f"{role_arn} trust policy", role.assume_role_policy_document, PolicySource.ROLE_TRUST)

    def resource_policy(self, arn: str) -> tuple[NamedPolicy | None, bool]:
        """(the resource's policy, whether it is a KMS key policy) for an ARN of this account."""
        parts = arn.split(":", 5)
        if len(parts) < 6:
            return None, False
        service, resource = parts[2], parts[5]
        try:
            if service == "sqs":
                return self._queue_policy(arn, resource), False
            if service == "sns":
                from moto.sns.models import sns_backends

                topic = sns_backends[self.account][self.region].topics.get(arn)
                document = getattr(topic, "_policy_json", None) if topic else None
                return (self.named(arn, document, PolicySource.SNS_TOPIC) if document else None), False
            if service == "kms":
                return self._key_policy(arn), True
            if service == "lambda" and resource.startswith("function:"):
                return self._function_policy(arn, resource.split(":")[1]), False
        except Exception as error:  # a resource gone meanwhile: judged without a resource policy
            if not isinstance(error, KeyError):
                self.problems.append(f"reading the policy of {arn} failed: {error!r}")
        return None, service == "kms"

    def _queue_policy(self, arn: str, name: str) -> NamedPolicy | None:
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[self.account][self.region].queues.get(name)
        document = getattr(queue, "_policy_json", None) if queue else None
        if not document or not document.get("Statement"):
            return None
        return self.named(arn, document, PolicySource.SQS_QUEUE)

    def key(self, key_id_or_arn: str) -> Any | None:
        from moto.kms.models import kms_backends

        backend = kms_backends[self.account][self.region]
        key_id = key_id_or_arn.rsplit("/", 1)[-1] if key_id_or_arn.startswith("arn:") else key_id_or_arn
        if key_id.startswith("alias/") or "alias/" in key_id_or_arn:
            alias = key_id_or_arn[key_id_or_arn.index("alias/"):]
            key_id = backend.get_key_id_from_alias(alias) or ""
        return backend.keys.get(key_id)

    def _key_policy(self, arn: str) -> NamedPolicy | None:
        key = self.key(arn)
        return self.named(key.arn, key.policy, PolicySource.KMS_KEY) if key is not None and key.policy else None

    def _function_policy(self, arn: str, name: str) -> NamedPolicy | None:
        from moto.awslambda.models import lambda_backends

        function = lambda_backends[self.account][self.region].get_function(name)
        statements = getattr(function.policy, "statements", None)
        if not statements:
            return None
        document = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
        return self.named(arn.split(":function:")[0] + f":function:{name}", document, PolicySource.LAMBDA_FUNCTION)
