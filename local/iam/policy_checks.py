"""Policy documents a call would store, checked before moto stores them, refused with the service's own error.

A malformed document, a wrong version or one over its quota is refused by the service that holds it: IAM
answers `MalformedPolicyDocument` or `LimitExceeded` (a role's inline policies share 10,240 characters),
SQS `InvalidAttributeValue`, SNS `InvalidParameter` and KMS `MalformedPolicyDocumentException` (their API
references list these errors). moto stores many such documents as they come; here they never reach it, so a
bad document can neither crash a decision later nor silently grant nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from local.iam import denials
from local.iam.documents import MalformedPolicy, PolicySource, PolicyTooLarge, check_role_inline_total, parse_policy
from local.iam.requests import AwsRequest

Problem = MalformedPolicy | PolicyTooLarge


def _sqs_policy(params: dict[str, Any]) -> str | None:
    attributes = params.get("Attributes")
    if isinstance(attributes, dict):
        return attributes.get("Policy")
    for key, value in params.items():  # query protocol: Attribute.N.Name / Attribute.N.Value
        if key.startswith("Attribute.") and key.endswith(".Name") and value == "Policy":
            return params.get(key[: -len(".Name")] + ".Value")
    return None


def _sns_policy(params: dict[str, Any]) -> str | None:
    if params.get("AttributeName") == "Policy":
        return params.get("AttributeValue")
    for key, value in params.items():  # CreateTopic: Attributes.entry.N.key / .value
        if key.startswith("Attributes.entry.") and key.endswith(".key") and value == "Policy":
            return params.get(key[: -len(".key")] + ".value")
    return None


def _iam(problem: Problem, request: AwsRequest) -> denials.Answer:
    if isinstance(problem, PolicyTooLarge):
        where = f"role {request.params.get('RoleName')}" if "RoleName" in request.params else "policy"
        return denials.error("iam", request.protocol, "LimitExceeded",
                             f"Maximum policy size of {problem.limit} bytes exceeded for {where}", 409)
    return denials.error("iam", request.protocol, "MalformedPolicyDocument", problem.message, 400)


def _sqs(problem: Problem, request: AwsRequest) -> denials.Answer:
    return denials.error("sqs", request.protocol, "InvalidAttributeValue",
                         f"Invalid value for the parameter Policy. Reason: {problem}", 400)


def _sns(problem: Problem, request: AwsRequest) -> denials.Answer:
    return denials.error("sns", request.protocol, "InvalidParameter", f"Invalid parameter: Policy Error: {problem}",
                         400)


def _kms(problem: Problem, request: AwsRequest) -> denials.Answer:
    return denials.error("kms", request.protocol, "MalformedPolicyDocumentException", str(problem), 400)


# (service, operation) -> (where the document is, where it will live, how the service refuses it)
CHECKS: dict[tuple[str, str], tuple[Callable[[dict[str, Any]], Any], PolicySource,
                                    Callable[[Problem, AwsRequest], denials.Answer]]] = {
    ("iam", "PutRolePolicy"): (lambda p: p.get("PolicyDocument"), PolicySource.ROLE_INLINE, _iam),
    ("iam", "PutUserPolicy"): (lambda p: p.get("PolicyDocument"), PolicySource.ROLE_INLINE, _iam),
    ("iam", "PutGroupPolicy"): (lambda p: p.get("PolicyDocument"), PolicySource.ROLE_INLINE, _iam),
    ("iam", "CreatePolicy"): (lambda p: p.get("PolicyDocument"), PolicySource.MANAGED, _iam),
    ("iam", "CreatePolicyVersion"): (lambda p: p.get("PolicyDocument"), PolicySource.MANAGED, _iam),
    ("iam", "CreateRole"): (lambda p: p.get("AssumeRolePolicyDocument"), PolicySource.ROLE_TRUST, _iam),
    ("iam", "UpdateAssumeRolePolicy"): (lambda p: p.get("PolicyDocument"), PolicySource.ROLE_TRUST, _iam),
    ("sqs", "SetQueueAttributes"): (_sqs_policy, PolicySource.SQS_QUEUE, _sqs),
    ("sqs", "CreateQueue"): (_sqs_policy, PolicySource.SQS_QUEUE, _sqs),
    ("sns", "SetTopicAttributes"): (_sns_policy, PolicySource.SNS_TOPIC, _sns),
    ("sns", "CreateTopic"): (_sns_policy, PolicySource.SNS_TOPIC, _sns),
    ("kms", "PutKeyPolicy"): (lambda p: p.get("Policy"), PolicySource.KMS_KEY, _kms),
    ("kms", "CreateKey"): (lambda p: p.get("Policy"), PolicySource.KMS_KEY, _kms),
}


def _other_inline_policies(enforcer: Any, request: AwsRequest) -> list[Any]:
    """The role's other inline policies, parsed (they share the role's 10,240 characters)."""
    role = enforcer.store.role(f"arn:aws:iam::{enforcer.account}:role/{request.params.get('RoleName', '')}")
    if role is None:
        return []
    found = []
    for name, document in role.policies.items():
        if name != request.params.get("PolicyName"):
            try:
                found.append(parse_policy(document, PolicySource.ROLE_INLINE))
            except (MalformedPolicy, PolicyTooLarge):
                continue
    return found


def check_documents(request: AwsRequest, enforcer: Any) -> denials.Answer | None:
    """The service's error for a bad policy document in this call; None when there is none or it is good."""
    check = CHECKS.get((request.service, request.operation))
    if check is None:
        return None
    find, source, refuse = check
    document = find(dict(request.params))
    if document is None or document == "":
        return None
    if not isinstance(document, str):
        document = json.dumps(document)
    try:
        policy = parse_policy(document, source)
        if (request.service, request.operation) == ("iam", "PutRolePolicy"):
            check_role_inline_total([policy, *_other_inline_policies(enforcer, request)])
    except (MalformedPolicy, PolicyTooLarge) as problem:
        return refuse(problem, request)
    return None
