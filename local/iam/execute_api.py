"""IAM authorization of an API Gateway method (`AuthorizationType: AWS_IAM`), judged as API Gateway does.

The local API (another process) sends what it received: the method ARN, the request line, the headers,
the body's SHA-256. This answers with API Gateway's own 403s (Developer Guide, "Control access to a REST
API with IAM permissions"; the bodies are API Gateway's):

| the request                                               | body (`message` unless said)                |
| no Authorization header                                   | Missing Authentication Token                |
| not SigV4, or parts missing                               | Authorization header requires ...           |
| signed for another service                                | Credential should be scoped to correct ...  |
| a wrong signature from credentials the local cloud issued | The request signature we calculated ...     |
| X-Amz-Date more than 15 minutes off                       | Signature expired: ...                      |
| a missing or stale session token                          | The security token included ... is invalid  |
| a signer not allowed execute-api:Invoke on the method     | `Message`: User: ARN is not authorized ...  |

The signer is found as for every other call (local/iam/identity.py): keys the local cloud did not issue act
as the account's root, whose signature cannot be checked without its secret. The decision goes through the
same evaluator and decision record as every AWS call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.iam.enforcer import Enforcer
from local.iam.evaluator import DecisionKind
from local.iam.principals import Principal
from local.iam.sigv4 import SignatureProblem, parse_authorization, verify

INVOKE = "execute-api:Invoke"
_ERROR_TYPES = {"incomplete": "IncompleteSignatureException", "mismatch": "InvalidSignatureException",
                "expired": "InvalidSignatureException"}


def _refused(status_key: str, message: str, error_type: str) -> dict[str, Any]:
    return {"allowed": False, "status": 403, "error_type": error_type, "body": {status_key: message}}


def judge(enforcer: Enforcer, asked: Mapping[str, Any]) -> dict[str, Any]:
    """{"allowed": True, "identity": {...}} or {"allowed": False, "status", "error_type", "body"}.

    `asked`: method_arn, method, raw_path, query, headers (lower-case names), payload_hash, source_ip."""
    headers = {str(k).lower(): str(v) for k, v in dict(asked.get("headers") or {}).items()}
    authorization = headers.get("authorization", "")
    if not authorization:
        return _refused("message", "Missing Authentication Token", "MissingAuthenticationTokenException")
    try:
        signed = parse_authorization(authorization)
    except SignatureProblem as problem:
        return _refused("message", problem.message, _ERROR_TYPES[problem.kind])
    if signed.service != "execute-api":
        return _refused("message", "Credential should be scoped to correct service: 'execute-api'. ",
                        "InvalidSignatureException")
    issued = enforcer.identities.lookup(signed.access_key)
    principal: Principal = issued.principal if issued is not None else enforcer.identities.root()
    if issued is not None:
        if (issued.token is not None and headers.get("x-amz-security-token") != issued.token) or issued.expired():
            return _refused("message", "The security token included in the request is invalid",
                            "UnrecognizedClientException")
        try:
            verify(signed, secret=issued.secret, method=str(asked.get("method", "GET")),
                   raw_path=str(asked.get("raw_path", "/")), query=str(asked.get("query", "")), headers=headers,
                   payload_hash=str(asked.get("payload_hash", "")))
        except SignatureProblem as problem:
            return _refused("message", problem.message, _ERROR_TYPES[problem.kind])
    method_arn = str(asked.get("method_arn", ""))
    context = {"aws:SecureTransport": "true", "aws:SourceIp": str(asked.get("source_ip") or "127.0.0.1")}
    decision = enforcer.decide(principal, INVOKE, method_arn, context)
    if enforcer.refuses(decision):
        explicit = " with an explicit deny" if decision.kind is DecisionKind.EXPLICIT_DENY else ""
        return _refused("Message", f"User: {principal.arn} is not authorized to perform: {INVOKE} on resource: "
                                   f"{method_arn}{explicit}", "AccessDeniedException")
    return {"allowed": True, "identity": {
        "accessKey": signed.access_key, "accountId": principal.account or enforcer.account,
        "caller": principal.arn, "user": principal.arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1],
        "userArn": principal.arn}}
