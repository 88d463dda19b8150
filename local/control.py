"""The local cloud's own endpoints (not AWS APIs), under /_localcloud/ on the AWS endpoint, for the local
cloud's other process, tests, the demo and `wildrydes`:

    GET  status                                   every mapping's counters and state, and the problems seen
    GET  mappings/<name>                          one mapping, with per-message detail
    POST mappings/<name>/kill-environments        a crash of its execution environments, for fault tests
    POST stack-outputs                            the outputs as served locally (the local API's URL)
    POST function-credentials/<function name>     a new environment's credentials (Lambda assumes its role)
    POST authorize                                a decision for a service principal (API Gateway -> Lambda)
    POST execute-api                              an AWS_IAM method's caller judged (local/iam/execute_api.py)
    GET  permissions                              every decision: denied, used, and the stack's unused grants
    POST metrics                                  {"Namespace", "MetricData"}: what a service of the other
                                                  process publishes (AWS/ApiGateway, AWS/Lambda)
    POST metrics/flush                            publish what this process's services counted, now
    POST logs                                     log events of the other process: {group: {stream: [[ms, message]]}}
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudwatch.exceptions import CloudWatchException

from local.iam import execute_api
from local.iam.enforcer import Enforcer
from local.iam.principals import Principal

PREFIX = "/_localcloud/"


def respond(start_response: Any, status: str, body: Any) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _body(environ: dict[str, Any]) -> Any:
    try:
        return json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"null")
    except ValueError:
        return None


class Control:
    def __init__(self, aws: Any, enforcer: Enforcer) -> None:
        self.aws, self.enforcer = aws, enforcer  # aws: the LocalAws this process runs

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        parts = str(environ.get("PATH_INFO", ""))[len(PREFIX):].strip("/").split("/")
        aws = self.aws
        if method == "GET" and parts == ["status"]:
            mappings = {name: {**p.stats.summary(), "state": p.state, "queue": p.queue.name}
                        for name, p in aws.pollers.items()}
            return respond(start_response, "200 OK", {"problems": aws.problems, "mappings": mappings})
        if method == "GET" and parts == ["permissions"]:
            return respond(start_response, "200 OK", self.enforcer.permissions())
        if method == "POST" and parts == ["stack-outputs"] and aws.stack_reads:
            aws.stack_reads.outputs = dict(_body(environ) or {})
            return respond(start_response, "200 OK", {"result": len(aws.stack_reads.outputs)})
        if method == "POST" and len(parts) == 2 and parts[0] == "function-credentials":
            return respond(start_response, "200 OK", aws.roles.credentials(parts[1]))
        if method == "POST" and parts == ["authorize"]:
            return respond(start_response, "200 OK", self._authorize(_body(environ)))
        if method == "POST" and parts == ["execute-api"]:
            asked = _body(environ)
            return respond(start_response, "200 OK", execute_api.judge(self.enforcer, asked if isinstance(
                asked, dict) else {}))
        if method == "POST" and parts == ["metrics"]:
            return self._metrics(_body(environ), start_response)
        if method == "POST" and parts == ["metrics", "flush"] and aws.publisher:
            aws.publisher.flush()
            return respond(start_response, "200 OK", {"result": "published"})
        if method == "POST" and parts == ["logs"] and aws.log_ingest:
            batch = _body(environ)
            if not isinstance(batch, dict):
                return respond(start_response, "400 Bad Request", {"message": "logs takes {group: {stream: events}}"})
            return respond(start_response, "200 OK", aws.log_ingest.ingest(batch))
        if len(parts) >= 2 and parts[0] == "mappings":
            return self._mapping(method, parts, start_response)
        return respond(start_response, "404 Not Found", {"message": f"no such endpoint: {method} {'/'.join(parts)}"})

    def _metrics(self, put: Any, start_response: Any) -> list[bytes]:
        try:
            self.aws.put_service_metrics(put["Namespace"], put["MetricData"])
        except (KeyError, TypeError, ValueError, CloudWatchException) as error:
            return respond(start_response, "400 Bad Request", {"message": str(error)})
        return respond(start_response, "200 OK", {"result": len(put["MetricData"])})

    def _authorize(self, asked: Any) -> dict[str, Any]:
        """A decision for {"service": name} (with "source_arn"), or for {"principal": "root" | {"account": id} |
        {"role": arn, "session": name}} with a "context": what API Gateway asks, and what tests ask."""
        if not isinstance(asked, dict) or not {"action", "resource"} <= set(asked):
            return {"allowed": False, "message": "authorize needs action, resource and a service or principal"}
        action, resource = str(asked["action"]), str(asked["resource"])
        if "service" in asked:
            decision = self.enforcer.service_may(str(asked["service"]), action, resource, asked.get("source_arn"))
        else:
            who = asked.get("principal")
            principal = (Principal.root(str(who["account"])) if isinstance(who, dict) and "account" in who else
                         Principal.session(str(who["role"]), str(who.get("session", "session")))
                         if isinstance(who, dict) and "role" in who else Principal.root(self.enforcer.account))
            decision = self.enforcer.decide(principal, action, resource, dict(asked.get("context") or {}))
        refused = self.enforcer.refuses(decision)
        return {"allowed": not refused, "message": "" if decision.allowed else decision.message(),
                "statement": str(decision.statement) if decision.statement else None, "kind": decision.kind.value}

    def _mapping(self, method: str, parts: list[str], start_response: Any) -> list[bytes]:
        poller = self.aws.pollers.get(parts[1])
        if poller is None:
            return respond(start_response, "404 Not Found", {"message": f"no such mapping: {parts[1]}"})
        if method == "GET" and len(parts) == 2:
            with poller.lock:
                detail = poller.stats.detail()
            return respond(start_response, "200 OK", {**detail, "state": poller.state})
        if method == "POST" and parts[2:] == ["kill-environments"]:
            return respond(start_response, "200 OK", {"result": poller.kill_environments()})
        return respond(start_response, "400 Bad Request", {"message": f"unknown action {method} {'/'.join(parts)}"})
