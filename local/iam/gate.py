"""The local AWS endpoint's front gate (WSGI, in front of moto): every API call authenticated and authorized
as AWS would, before moto sees it.

1. Who: the access key of the signature (local/iam/identity.py). Credentials the local cloud issued are
   checked: the signature against their secret, the session token, the expiry. Other keys act as the
   account's root user; an unsigned request is anonymous.
2. Bad policy documents: a policy a call would store (PutRolePolicy, SetQueueAttributes Policy, ...) is
   parsed first and refused with the service's own error (local/iam/policy_checks.py).
3. What: the IAM actions and resources of the call (local/iam/requests.py), each decided with the
   caller's identity policies and the resource's policy (local/iam/enforcer.py), with the request's
   context: `aws:SecureTransport` true only over TLS, `aws:SourceIp`, `aws:RequestedRegion`.
4. What the service does for the caller: publishing to an SNS topic with a KMS key asks KMS for a data key
   as the caller (`kms:ViaService`), and so do sends to and receives from an SQS queue with one.

A refusal is the service's own error (local/iam/denials.py); an allowed call goes on to moto unchanged.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from local.iam import denials
from local.iam.enforcer import Enforcer
from local.iam.evaluator import Decision
from local.iam.policy_checks import check_documents
from local.iam.principals import Principal
from local.iam.requests import NO_AUTHORIZATION, AwsRequest, describe
from local.iam.sigv4 import SignatureProblem, parse_authorization, verify, wsgi_headers

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# What a call on an encrypted queue or topic asks KMS for, as the caller, through the service.
_KMS_FOR = {("sns", "Publish"): "kms:GenerateDataKey", ("sqs", "SendMessage"): "kms:GenerateDataKey",
            ("sqs", "SendMessageBatch"): "kms:GenerateDataKey", ("sqs", "ReceiveMessage"): "kms:Decrypt"}


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    return body


class Gate:
    def __init__(self, app: WsgiApp, enforcer: Enforcer) -> None:
        self.app, self.enforcer = app, enforcer

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _read_body(environ)
        request = describe(environ, body, self.enforcer.account)
        principal, answer = self._authenticate(environ, body, request)
        if answer is None:
            answer = check_documents(request, self.enforcer)
        if answer is None and principal is not None:
            answer = self._authorize(principal, request, environ)
        if answer is not None:
            status, headers, payload = answer
            start_response(status, headers)
            return [payload]
        return self.app(environ, start_response)

    # -- who ---------------------------------------------------------------------------------------
    def _authenticate(self, environ: dict[str, Any], body: bytes,
                      request: AwsRequest) -> tuple[Principal | None, denials.Answer | None]:
        if request.access_key is None:
            return Principal.anonymous(), None
        issued = self.enforcer.identities.lookup(request.access_key)
        if issued is None:
            return self.enforcer.identities.root(), None
        service, protocol = request.service, request.protocol
        token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
        if issued.token is not None and token != issued.token:
            return None, denials.bad_token(service, protocol, expired=False)
        if issued.expired():
            return None, denials.bad_token(service, protocol, expired=True)
        authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
        if authorization:  # presigned URLs are not checked (nothing here makes them)
            try:
                signed = parse_authorization(authorization)
                raw = str(environ.get("REQUEST_URI") or quote(str(environ.get("PATH_INFO", "/"))))
                verify(signed, secret=issued.secret, method=str(environ.get("REQUEST_METHOD", "GET")),
                       raw_path=raw.split("?", 1)[0], query=str(environ.get("QUERY_STRING", "")),
                       headers=wsgi_headers(environ), payload_hash=hashlib.sha256(body).hexdigest())
            except SignatureProblem as problem:
                return None, denials.bad_signature(service, protocol, problem.kind, problem.message)
        return issued.principal, None

    # -- what --------------------------------------------------------------------------------------
    def _authorize(self, principal: Principal, request: AwsRequest, environ: dict[str, Any]) -> denials.Answer | None:
        action = f"{request.service}:{request.operation}"
        if action in NO_AUTHORIZATION:
            return None
        if action == "sts:AssumeRole" and principal.arn.endswith(":root"):
            return denials.error("sts", request.protocol, "AccessDenied", "Roles may not be assumed by root accounts.",
                                 403)
        context = {"aws:SecureTransport": "true" if environ.get("wsgi.url_scheme") == "https" else "false",
                   "aws:SourceIp": str(environ.get("REMOTE_ADDR", "127.0.0.1")), "aws:RequestedRegion": request.region}
        if request.service == "sns" and principal.account:  # SNS's legacy key: the caller's account (default policy)
            context["aws:SourceOwner"] = principal.account
        for access in request.accesses:
            resource = access.resource
            if request.service == "kms" and resource != "*":
                resource = self.enforcer.key_arn(resource.split(":key/", 1)[-1]) or resource
            decision = self.enforcer.decide(principal, access.action, resource, context)
            if self.enforcer.refuses(decision):
                return self._denied(request, decision)
        return self._through_kms(principal, request)

    def _denied(self, request: AwsRequest, decision: Decision) -> denials.Answer:
        r = decision.request
        return denials.access_denied(request.service, request.protocol, r.principal.arn, r.action, r.resource,
                                     decision.reason)

    def _through_kms(self, principal: Principal, request: AwsRequest) -> denials.Answer | None:
        kms_action = _KMS_FOR.get((request.service, request.operation))
        if kms_action is None or not request.accesses:
            return None
        key_id = self._key_of(request.service, request.accesses[0].resource)
        decision = self.enforcer.via_service(principal, kms_action, key_id, request.service)
        if decision is None or not self.enforcer.refuses(decision):
            return None
        detail = (f"User: {principal.arn} is not authorized to perform: {kms_action} on resource: "
                  f"{decision.request.resource} {decision.reason} (Service: AWSKMS; Status Code: 400; Error Code: "
                  f"AccessDeniedException; Request ID: {uuid.uuid4()}; Proxy: null)")
        if request.service == "sns":
            return denials.error("sns", request.protocol, "KMSAccessDenied", detail, 400)
        return denials.error("sqs", request.protocol, "KmsAccessDenied", detail, 400)

    def _key_of(self, service: str, resource: str) -> str | None:
        try:
            if service == "sns":
                from moto.sns.models import sns_backends

                topic = sns_backends[self.enforcer.account][self.enforcer.region].topics.get(resource)
                return getattr(topic, "kms_master_key_id", None) if topic else None
            from moto.sqs.models import sqs_backends

            queue = sqs_backends[self.enforcer.account][self.enforcer.region].queues.get(resource.rsplit(":", 1)[-1])
            return getattr(queue, "kms_master_key_id", None) if queue else None
        except KeyError:
            return None
