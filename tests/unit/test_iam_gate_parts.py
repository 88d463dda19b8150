"""The parts of the IAM gate that need no server: SigV4 checking against botocore's own signer, what a request
asks for in IAM's terms, and the service's own wording of a refusal."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local.iam import denials
from local.iam.requests import describe
from local.iam.sigv4 import SignatureProblem, parse_authorization, verify

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"


def signed(method: str, url: str, body: bytes, headers: dict[str, str], service: str, when: datetime | None = None):
    """A request as botocore signs it, as a WSGI server would hand it over."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    signer = SigV4Auth(Credentials("ASIAEXAMPLE", SECRET, "token"), service, "us-east-1")
    if when is None:
        signer.add_auth(request)
    else:  # botocore signs with the clock: sign "then" by giving it the time
        import botocore.auth as auth_module

        original = auth_module.get_current_datetime
        auth_module.get_current_datetime = lambda: when
        try:
            signer.add_auth(request)
        finally:
            auth_module.get_current_datetime = original
    parts = urlsplit(url)
    environ = {"REQUEST_METHOD": method, "PATH_INFO": parts.path, "REQUEST_URI": parts.path + (
        "?" + parts.query if parts.query else ""), "QUERY_STRING": parts.query}
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    environ["HTTP_HOST"] = parts.netloc
    return environ


def check(environ: dict[str, str], body: bytes, secret: str = SECRET, now: datetime | None = None) -> None:
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    verify(parse_authorization(environ["HTTP_AUTHORIZATION"]), secret=secret, method=environ["REQUEST_METHOD"],
           raw_path=environ["REQUEST_URI"].split("?")[0], query=environ["QUERY_STRING"], headers=headers,
           payload_hash=hashlib.sha256(body).hexdigest(), now=now)


CASES = [
    ("POST", "https://127.0.0.1:5050/", b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Message=hi",
     {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, "sns"),
    ("POST", "https://127.0.0.1:5050/", b'{"TableName": "t", "Item": {}}',
     {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.PutItem"}, "dynamodb"),
    ("GET", "https://127.0.0.1:5050/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/"
            "configuration?Qualifier=%24LATEST&x=a%20b", b"", {}, "lambda"),
]


@pytest.mark.parametrize(("method", "url", "body", "headers", "service"), CASES, ids=["query", "json", "rest"])
def test_a_botocore_signature_is_accepted_and_any_change_is_caught(method, url, body, headers, service):
    # Given a request botocore signed
    environ = signed(method, url, body, headers, service)
    check(environ, body)  # accepted
    # Then another body, another secret or another path are each a mismatch
    for tampered_body, secret, path in ((body + b" ", SECRET, None), (body, SECRET + "x", None),
                                        (body, SECRET, "/other")):
        changed = dict(environ)
        if path:
            changed["REQUEST_URI"] = path
        with pytest.raises(SignatureProblem) as problem:
            check(changed, tampered_body, secret)
        assert problem.value.kind == "mismatch" and "signature we calculated does not match" in problem.value.message


def test_a_signature_older_than_15_minutes_has_expired():
    then = datetime.now(UTC) - timedelta(minutes=16)
    environ = signed(*CASES[1][:4], "dynamodb", when=then)
    with pytest.raises(SignatureProblem, match=r"Signature expired: .* is now earlier than") as problem:
        check(environ, CASES[1][2])
    assert problem.value.kind == "expired"
    check(environ, CASES[1][2], now=then + timedelta(minutes=14))  # within the window it is fine


@pytest.mark.parametrize("header", ["", "AWS4-HMAC-SHA256", "Bearer abc", "AWS4-HMAC-SHA256 Credential=x/y, "
                                    "SignedHeaders=host, Signature=00", "x" * 10_000, "\x00\xff binary"])
def test_a_malformed_authorization_header_is_incomplete(header):
    with pytest.raises(SignatureProblem) as problem:
        parse_authorization(header)
    assert problem.value.kind == "incomplete"


def test_requests_are_described_as_iam_sees_them():
    environ = signed(*CASES[1][:4], "dynamodb")
    described = describe(environ, CASES[1][2], ACCOUNT)
    assert (described.service, described.operation, described.protocol) == ("dynamodb", "PutItem", "json")
    assert [(a.action, a.resource) for a in described.accesses] == [
        ("dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t")]
    # a transaction is authorized per item, on each item's own action
    body = json.dumps({"TransactItems": [{"Put": {"TableName": "a"}}, {"Update": {"TableName": "b"}},
                                         {"ConditionCheck": {"TableName": "a"}}]}).encode()
    environ = dict(environ, HTTP_X_AMZ_TARGET="DynamoDB_20120810.TransactWriteItems")
    assert [(a.action, a.resource.rsplit("/", 1)[-1]) for a in describe(environ, body, ACCOUNT).accesses] == [
        ("dynamodb:PutItem", "a"), ("dynamodb:UpdateItem", "b"), ("dynamodb:ConditionCheckItem", "a")]
    # a query call on a queue, and a Lambda REST route on a function
    sqs = describe(signed("POST", "https://h/", b"Action=SendMessage&QueueUrl=https%3A%2F%2Fh%2F1%2Fq", {}, "sqs"),
                   b"Action=SendMessage&QueueUrl=https%3A%2F%2Fh%2F1%2Fq", ACCOUNT)
    assert [(a.action, a.resource) for a in sqs.accesses] == [("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")]
    route = "https://h/2015-03-31/functions/f/invocations"
    invoke = describe(signed("POST", route, b"{}", {}, "lambda"), b"{}", ACCOUNT)
    assert [(a.action, a.resource) for a in invoke.accesses] == [
        ("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f")]


def test_each_service_words_a_refusal_its_own_way():
    status, headers, body = denials.access_denied("sns", "query", "arn:aws:sts::1:assumed-role/r/s", "sns:Publish",
                                                  "arn:aws:sns:us-east-1:1:t", "because no identity-based policy "
                                                  "allows the sns:Publish action")
    assert status.startswith("403") and b"<Code>AuthorizationError</Code>" in body
    assert b"not authorized to perform: SNS:Publish on resource" in body and b"allows the SNS:Publish action" in body
    status, headers, body = denials.access_denied("dynamodb", "json", "arn:x", "dynamodb:PutItem", "arn:t", "because")
    assert status.startswith("400")
    assert json.loads(body)["__type"] == "com.amazonaws.dynamodb.v20120810#AccessDeniedException"
    status, headers, body = denials.access_denied("sqs", "json", "arn:x", "sqs:SendMessage", "arn:q", "because")
    assert status.startswith("403") and ("x-amzn-query-error", "AccessDenied;Sender") in headers
    assert b"sqs:sendmessage" in body
