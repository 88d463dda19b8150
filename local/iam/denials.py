"""A refused request answered as the service answers it: its error code, HTTP status and wire format.

Each service words AccessDenied its own way (the service API references' "Common Errors" and each
operation's errors): DynamoDB and KMS `AccessDeniedException` (400, JSON), SQS `AccessDenied` (403; in its
JSON protocol the code travels in `x-amzn-query-error`, as botocore reads it), SNS `AuthorizationError`
(403, XML), Lambda `AccessDeniedException` (403), IAM, STS and CloudWatch `AccessDenied` (403). The message
is IAM's sentence; SNS writes its actions `SNS:Publish` and SQS `sqs:sendmessage`, as they do on AWS.
Signature and token problems get the codes each protocol uses for them.
"""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

Answer = tuple[str, list[tuple[str, str]], bytes]

_DENIED = {  # service -> (code, HTTP status)
    "dynamodb": ("AccessDeniedException", 400), "kms": ("AccessDeniedException", 400),
    "logs": ("AccessDeniedException", 400), "lambda": ("AccessDeniedException", 403),
    "sns": ("AuthorizationError", 403), "sqs": ("AccessDenied", 403),
}
_JSON_TYPE_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazon.coral.service#"}
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}
_XML_NAMESPACE = {"sns": "http://sns.amazonaws.com/doc/2010-03-31/", "sqs": "http://queue.amazonaws.com/doc/2012-11-05/",
                  "iam": "https://iam.amazonaws.com/doc/2010-05-08/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
                  "cloudwatch": "http://monitoring.amazonaws.com/doc/2010-08-01/"}


def written_action(service: str, action: str) -> str:
    """The action as the service writes it in its messages."""
    name = action.split(":", 1)[-1]
    if service == "sns":
        return f"SNS:{name}"
    if service == "sqs":
        return f"sqs:{name.lower()}"
    return action


def error(service: str, protocol: str, code: str, message: str, status: int) -> Answer:
    """An error in the service's wire format."""
    request_id = str(uuid.uuid4())
    if protocol in ("json", "rest"):
        type_name = _JSON_TYPE_PREFIX.get(service, "") + (
            "AccessDeniedException" if service == "sqs" and code == "AccessDenied" else code)
        key = "Message" if service == "lambda" else "message"
        body = json.dumps({"__type": type_name, key: message} if service != "lambda" else
                          {"Type": "User", key: message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0" if protocol == "json" else "application/json"),
                   ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
        if service in ("sqs", "cloudwatch"):  # query-compatible JSON services: the code botocore reports
            headers.append(("x-amzn-query-error", f"{code};Sender"))
    else:
        namespace = _XML_NAMESPACE.get(service, "https://aws.amazon.com/")
        body = (f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
                f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    headers.append(("Content-Length", str(len(body))))
    return f"{status} {_REASONS.get(status, 'Error')}", headers, body


def access_denied(service: str, protocol: str, principal_arn: str, action: str, resource: str, reason: str) -> Answer:
    code, status = _DENIED.get(service, ("AccessDenied", 403))
    written = written_action(service, action)
    reason = reason.replace(f" {action} action", f" {written} action")
    message = f"User: {principal_arn} is not authorized to perform: {written} on resource: {resource} {reason}"
    return error(service, protocol, code, message, status)


def bad_signature(service: str, protocol: str, kind: str, message: str) -> Answer:
    """A signature that does not match, has expired, or is incomplete."""
    if kind == "expired":
        code = "InvalidSignatureException" if protocol != "query" else "SignatureDoesNotMatch"
    elif kind == "incomplete":
        code = "IncompleteSignatureException" if protocol != "query" else "IncompleteSignature"
    else:
        code = "InvalidSignatureException" if protocol != "query" else "SignatureDoesNotMatch"
    return error(service, protocol, code, message, 403 if protocol == "query" or service == "lambda" else 400)


def bad_token(service: str, protocol: str, expired: bool) -> Answer:
    if expired:
        return error(service, protocol, "ExpiredTokenException" if protocol != "query" else "ExpiredToken",
                     "The security token included in the request is expired", 400 if protocol != "query" else 403)
    return error(service, protocol, "UnrecognizedClientException" if protocol != "query" else "InvalidClientTokenId",
                 "The security token included in the request is invalid.", 400 if protocol != "query" else 403)
