"""What an AWS API request asks for, in IAM's terms: the IAM action and the resource ARNs it acts on.

AWS authorizes each API call as an action (`sqs:SendMessage`) on resources (the queue's ARN), as the
Service Authorization Reference lists them per service. A request arrives in one of three wire protocols:
JSON (`X-Amz-Target: AmazonSQS.SendMessage`, parameters in the JSON body), query (`Action=Publish`,
parameters form-encoded) or REST (Lambda: the operation and the function are in the method and path). The
service comes from the SigV4 credential scope (`.../us-east-1/sqs/aws4_request`).

Resources are derived for the services this stack uses (SQS, SNS, DynamoDB, KMS, Lambda, IAM, STS,
CloudWatch, CloudWatch Logs); any other call is judged on `*`, which is what most list and create actions
take anyway. A DynamoDB transaction is authorized per item, on the item's own action, as AWS does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

# SigV4 signing names that are not the IAM service prefix.
SIGNING_TO_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "execute-api"}
NO_AUTHORIZATION = {"sts:GetCallerIdentity"}  # answered for any valid credentials, never denied
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_LAMBDA_PATH = re.compile(r"^/(?P<version>\d{4}-\d{2}-\d{2})/(?P<kind>functions|event-source-mappings)"
                          r"(?:/(?P<name>[^/]+))?(?:/(?P<tail>[^/?]+))?")


@dataclass(frozen=True)
class Access:
    """One action on one resource."""

    action: str  # e.g. "sqs:SendMessage"
    resource: str  # an ARN, or "*"


@dataclass(frozen=True)
class AwsRequest:
    """A request as IAM sees it: who signed it, for which service, what it does to which resources."""

    access_key: str | None
    region: str
    service: str  # the IAM prefix, e.g. "sqs"
    operation: str  # the API operation, e.g. "SendMessage"
    accesses: tuple[Access, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    protocol: str = "query"  # "json", "query" or "rest"


def _signature_scope(environ: Mapping[str, Any], query: Mapping[str, list[str]]) -> tuple[str | None, str, str]:
    """(access key, region, signing name) from the Authorization header or a presigned query string."""
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    found = _SCOPE.search(header)
    if found:
        return found.group(1), found.group(2), found.group(3)
    credential = (query.get("X-Amz-Credential") or [""])[0]
    parts = credential.split("/")
    if len(parts) == 5:
        return parts[0], parts[2], parts[3]
    return None, "us-east-1", ""


class Arns:
    """ARNs of one account and region."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def of(self, service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if regional else ''}:{self.account}:{resource}"

    def queue(self, url_or_name: str) -> str:
        return self.of("sqs", str(url_or_name).rstrip("/").rsplit("/", 1)[-1])

    def table(self, name: str) -> str:
        return name if str(name).startswith("arn:") else self.of("dynamodb", f"table/{name}")

    def function(self, name: str) -> str:
        name = unquote(str(name))
        if name.startswith("arn:"):
            return name
        return self.of("lambda", f"function:{name}")


Resolver = Callable[[str, Mapping[str, Any], Arns], list[Access]]


def _sqs(operation: str, p: Mapping[str, Any], arns: Arns) -> list[Access]:
    action = f"sqs:{operation}"
    if "QueueUrl" in p:
        return [Access(action, arns.queue(p["QueueUrl"]))]
    if "QueueName" in p:
        return [Access(action, arns.queue(p["QueueName"]))]
    if "SourceArn" in p:  # message move tasks
        return [Access(action, str(p["SourceArn"]))]
    return [Access(action, "*")]


def _sns(operation: str, p: Mapping[str, Any], arns: Arns) -> list[Access]:
    action = f"sns:{operation}"
    for key in ("TopicArn", "TargetArn", "ResourceArn"):
        if key in p:
            return [Access(action, str(p[key]))]
    if "SubscriptionArn" in p:
        return [Access(action, str(p["SubscriptionArn"]).rsplit(":", 1)[0])]
    if operation == "CreateTopic" and "Name" in p:
        return [Access(action, arns.of("sns", str(p["Name"])))]
    return [Access(action, "*")]


_TRANSACT_ITEM = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                  "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _dynamodb(operation: str, p: Mapping[str, Any], arns: Arns) -> list[Access]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in p.get("TransactItems", []) or []:
            for kind, body in (item or {}).items():
                if kind in _TRANSACT_ITEM and isinstance(body, dict) and "TableName" in body:
                    found.append(Access(f"dynamodb:{_TRANSACT_ITEM[kind]}", arns.table(body["TableName"])))
        return list(dict.fromkeys(found)) or [Access(f"dynamodb:{operation}", "*")]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        tables = list((p.get("RequestItems") or {}).keys())
        batch = [Access(f"dynamodb:{operation}", arns.table(t)) for t in tables]
        return batch or [Access(f"dynamodb:{operation}", "*")]
    for key in ("TableName", "ResourceArn", "StreamArn"):
        if key in p:
            return [Access(f"dynamodb:{operation}", arns.table(str(p[key])))]
    return [Access(f"dynamodb:{operation}", "*")]


def _by_parameter(prefix: str, parameters: tuple[tuple[str, Callable[[Any, Arns], str]], ...]) -> Resolver:
    def resolve(operation: str, p: Mapping[str, Any], arns: Arns) -> list[Access]:
        for key, make in parameters:
            if p.get(key):
                values = p[key] if isinstance(p[key], list) else [p[key]]
                return [Access(f"{prefix}:{operation}", make(v, arns)) for v in values]
        return [Access(f"{prefix}:{operation}", "*")]
    return resolve


RESOLVERS: dict[str, Resolver] = {
    "sqs": _sqs, "sns": _sns, "dynamodb": _dynamodb,
    "kms": _by_parameter("kms", (("KeyId", lambda v, a: str(v) if str(v).startswith("arn:")
                                  else a.of("kms", f"key/{v}")),)),
    "iam": _by_parameter("iam", (("RoleName", lambda v, a: a.of("iam", f"role/{v}", regional=False)),
                                 ("UserName", lambda v, a: a.of("iam", f"user/{v}", regional=False)),
                                 ("PolicyArn", lambda v, a: str(v)))),
    "sts": _by_parameter("sts", (("RoleArn", lambda v, a: str(v)),)),
    "cloudwatch": _by_parameter("cloudwatch", (("AlarmName", lambda v, a: a.of("cloudwatch", f"alarm:{v}")),
                                               ("AlarmNames", lambda v, a: a.of("cloudwatch", f"alarm:{v}")),
                                               ("DashboardName", lambda v, a: a.of("cloudwatch", f"dashboard/{v}",
                                                                                    regional=False)))),
    "logs": _by_parameter("logs", (("logGroupName", lambda v, a: a.of("logs", f"log-group:{v}")),
                                   ("logGroupIdentifier", lambda v, a: str(v) if str(v).startswith("arn:")
                                    else a.of("logs", f"log-group:{v}")))),
}


_FUNCTION_ROUTES = {
    ("POST", "invocations"): "InvokeFunction", ("GET", "configuration"): "GetFunctionConfiguration",
    ("PUT", "configuration"): "UpdateFunctionConfiguration", ("PUT", "concurrency"): "PutFunctionConcurrency",
    ("GET", "concurrency"): "GetFunctionConcurrency", ("DELETE", "concurrency"): "DeleteFunctionConcurrency",
    ("POST", "policy"): "AddPermission", ("GET", "policy"): "GetPolicy", ("GET", None): "GetFunction",
    ("DELETE", None): "DeleteFunction", ("PUT", "code"): "UpdateFunctionCode"}


def _lambda(method: str, path: str, arns: Arns) -> tuple[str, list[Access]]:
    """Lambda's REST routes this stack's tools use: invoke, configuration, concurrency, policy, mappings."""
    found = _LAMBDA_PATH.match(path)
    if not found:
        return "Unknown", [Access("lambda:Unknown", "*")]
    kind, name, tail = found.group("kind"), found.group("name"), found.group("tail")
    if kind == "event-source-mappings":
        operation = {"GET": "GetEventSourceMapping", "PUT": "UpdateEventSourceMapping",
                     "DELETE": "DeleteEventSourceMapping"}.get(method, "") if name else \
            {"GET": "ListEventSourceMappings", "POST": "CreateEventSourceMapping"}.get(method, "Unknown")
        resource = arns.of("lambda", f"event-source-mapping:{name}") if name else "*"
        return operation, [Access(f"lambda:{operation}", resource)]
    if not name:
        operation = {"GET": "ListFunctions", "POST": "CreateFunction"}.get(method, "Unknown")
        return operation, [Access(f"lambda:{operation}", "*")]
    operation = _FUNCTION_ROUTES.get((method, tail), "Unknown")
    return operation, [Access(f"lambda:{operation}", arns.function(name))]


def describe(environ: Mapping[str, Any], body: bytes, account: str) -> AwsRequest:
    """The request of a WSGI environ and its body, in IAM's terms."""
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    access_key, region, signing_name = _signature_scope(environ, query)
    service = SIGNING_TO_PREFIX.get(signing_name, signing_name)
    arns = Arns(account, region)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    params: dict[str, Any]
    if target:
        protocol, operation = "json", target.rsplit(".", 1)[-1]
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            loaded = {}
        params = loaded if isinstance(loaded, dict) else {}
    elif service == "lambda":
        method, path = str(environ.get("REQUEST_METHOD", "GET")), str(environ.get("PATH_INFO", ""))
        operation, accesses = _lambda(method, path, arns)
        return AwsRequest(access_key, region, service, operation, tuple(accesses), {}, "rest")
    else:
        protocol = "query"
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body else {}
        merged = {**query, **form}
        params = {k: v[0] for k, v in merged.items()}
        if "AlarmNames.member.1" in params:
            params["AlarmNames"] = [v for k, v in sorted(params.items()) if k.startswith("AlarmNames.member.")]
        operation = params.get("Action", "")
    resolver = RESOLVERS.get(service)
    accesses = resolver(operation, params, arns) if resolver else [Access(f"{service}:{operation}", "*")]
    return AwsRequest(access_key, region, service, operation, tuple(accesses), params, protocol)
