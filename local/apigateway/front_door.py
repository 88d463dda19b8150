"""A local API Gateway (REST API, Lambda proxy integrations) on 127.0.0.1, served by uvicorn.

Routes come from the template (AWS::ApiGateway::Method with an AWS_PROXY integration), under the
stage name, as on AWS: POST http://127.0.0.1:PORT/prod/submit-ride-completion. HTTP/1.1 itself
(keep-alive, chunked bodies, malformed or conflicting Content-Length, a body that never arrives) is
uvicorn's job; a request is handed to a function only once its whole body is here. What API Gateway
answers itself is answered here the same way:

| when                                                  | status | body                                        |
| method or path the API does not define                | 403    | {"message": "Missing Authentication Token"} |
| an AWS_IAM method: unsigned, badly signed, not allowed | 403    | API Gateway's (local/iam/execute_api.py)    |
| over the stage's throttle (local/apigateway/throttling)| 429    | {"message": "Too Many Requests"}            |
| body over 10 MB                                       | 413    | {"message": "Request Too Long"}             |
| the function is throttled (at its concurrency limit)  | 500    | {"message": "Internal server error"}        |
| the function failed, timed out, answered badly        | 502    | {"message": "Internal server error"}        |
| no answer within the 29 s integration timeout         | 504    | {"message": "Endpoint request timed out"}   |

Each function has a concurrency limit (its reserved concurrency, read through the Lambda API each second,
else `concurrency_limit`, the account's): a request that would exceed it is throttled at once, as Lambda
throttles (reserved concurrency 0 throttles every request). Below it, requests wait
for one of the function's local environments (a few processes per function: the machine's cores, not
AWS's fleet, are the limit here), the wait standing in for the cold start a new environment would take
on Lambda; a request that waits out the integration timeout gets the 504 API Gateway would give.
Every answer under the stage is counted in its AWS/ApiGateway metrics (local/apigateway/metrics.py).
The proxy event, the function's answer as HTTP and the answers above are in proxy_integration.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from local.apigateway.access_log import AccessLog
from local.apigateway.metrics import ApiMetrics
from local.apigateway.proxy_integration import (
    INTERNAL_ERROR,
    JSON,
    MISSING_TOKEN,
    TIMED_OUT,
    TOO_LARGE,
    TOO_MANY_REQUESTS,
    Answer,
    gateway_message,
    proxy_answer,
    proxy_event,
)
from local.apigateway.throttling import StageThrottle
from local.cloudformation.deployment import Route
from local.lambda_service.environments import FunctionPool
from local.lambda_service.invocations import InvocationError

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's limit
INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's limit on a Lambda integration
BACKLOG = 2048  # connections waiting to be accepted; the stage's burst limit is 100


class Admission:
    """One function's concurrency as the API sees it: a limit (throttle beyond it) and local environments
    (wait for one). Used from the event loop only."""

    def __init__(self, pool: FunctionPool, limit: int) -> None:
        self.pool, self.limit = pool, limit
        self.in_flight = 0
        self.slots = asyncio.Semaphore(pool.size)


class HalfCloseAware(H11Protocol):
    """A client may half-close once its requests are sent (`shutdown(SHUT_WR)`, as some HTTP tools and proxies
    do). uvicorn takes that EOF for a disconnect and drops the request unanswered; API Gateway answers it.
    Here every whole request already sent is answered (pipelined ones too), then the connection closes.
    An EOF before a request is whole is still a disconnect: nothing is invoked."""

    client_done = False

    def eof_received(self) -> bool | None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and self.conn.their_state is h11.DONE:
            self.client_done = True
            return True  # keep our side open for the answers
        return None

    def on_response_complete(self) -> None:
        super().on_response_complete()  # starts the next pipelined request, if one is here
        if self.client_done and (self.cycle is None or self.cycle.response_complete) \
                and not self.transport.is_closing():
            self.transport.close()


class _Disconnected(Exception):
    """The client went away before its request had fully arrived: nothing is invoked."""


class LocalApi:
    def __init__(self, routes: list[Route], pools: dict[str, FunctionPool], *, stage: str, host: str, port: int,
                 log_path: Path, concurrency_limit: int, on_throttle: Any = None, on_error: Any = None,
                 invoke_policy: Any = None, throttle: StageThrottle | None = None, judge_caller: Any = None,
                 metrics: ApiMetrics | None = None, access_log: AccessLog | None = None) -> None:
        self.access_log = access_log
        self.routes = {(r.method, f"/{stage}{r.path}"): r for r in routes}
        self.pools = pools
        self.concurrency_limit, self.on_throttle, self.on_error = concurrency_limit, on_throttle, on_error
        # (the function's Lambda permission for API Gateway allows, its reserved concurrency or None)
        self.invoke_policy = invoke_policy or (lambda route: (True, None))
        # (route, what the request says) -> local/iam/execute_api.judge's answer, for AWS_IAM methods
        self.judge_caller = judge_caller
        self.throttle = throttle or StageThrottle([])
        self.admissions: dict[str, Admission] = {}  # made in the event loop, on first use
        self.stage = stage
        self.metrics = metrics  # AWS/ApiGateway: every answer under the stage (local/apigateway/metrics.py)
        self.statuses: Counter[int] = Counter()
        self.executor = ThreadPoolExecutor(max_workers=max(1, sum(p.size for p in pools.values())),
                                           thread_name_prefix="local-api-invoke")
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))  # OSError (port in use) here, before anything runs
        self.socket.listen(BACKLOG)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # bad-request notices: a file, not the terminal
            logger = logging.getLogger(name)
            logger.handlers = [logging.FileHandler(log_path)]
            logger.propagate = False
        config = uvicorn.Config(self, log_config=None, log_level="warning", access_log=False, lifespan="off",
                                http=HalfCloseAware, backlog=BACKLOG, timeout_keep_alive=30,
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True,
                                       name="local-api")

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}/{self.stage}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not self.server.started:
            raise RuntimeError("the local API did not start; see its log")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=2)
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.socket.close()

    # -- ASGI ---------------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        started, at, timing = time.monotonic(), time.time(), dict[str, float]()
        try:
            status, headers, body = await self._answer(scope, receive, timing)
        except _Disconnected:
            return
        self.statuses[status] += 1
        if self.metrics and (scope["path"] + "/").startswith(f"/{self.stage}/"):  # a stage's metrics: its paths
            self.metrics.answered(status, (time.monotonic() - started) * 1000, timing.get("integration_ms"))
        request_id = headers.pop("x-amzn-RequestId", str(uuid.uuid4()))
        raw_headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()
                       if k.lower() != "content-length"]
        raw_headers += [(b"content-length", str(len(body)).encode()), (b"x-amzn-requestid", request_id.encode())]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
        if self.access_log:
            route = self.routes.get((scope["method"], scope["path"]))
            self.access_log.record(
                request_id=request_id, started=at, method=scope["method"], path=scope["path"],
                resource_path=route.path if route else None, status=status, response_length=len(body), scope=scope,
                identity=scope.get("localcloud.identity", {}), error_message=headers.get("x-amzn-ErrorType") and (
                    gateway_message(body)))

    async def _answer(self, scope: dict[str, Any], receive: Any, timing: dict[str, float]) -> Answer:
        headers: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = value
            multi.setdefault(name, []).append(value)
        if int(headers.get("content-length") or 0) > MAX_PAYLOAD_BYTES:
            return TOO_LARGE
        body = await self._body(receive)
        if body is None:
            return TOO_LARGE
        route = self.routes.get((scope["method"], scope["path"]))
        if route is None:  # what API Gateway answers for a method or path the API does not define
            return MISSING_TOKEN
        if not self.throttle.admit(route.method, route.path):
            return TOO_MANY_REQUESTS
        identity: dict[str, Any] = {}
        if route.authorization == "AWS_IAM":
            judged = await self._judged(route, scope, headers, body)
            if not judged.get("allowed"):
                return int(judged.get("status", 403)), {"Content-Type": JSON, "x-amzn-ErrorType": str(
                    judged.get("error_type", "AccessDeniedException"))}, json.dumps(judged.get("body", {})).encode()
            identity = dict(judged.get("identity") or {})
            scope["localcloud.identity"] = identity
        event = proxy_event(route, self.stage, scope, headers, multi, body, identity)
        return await self._invoke(route, event, timing)

    async def _judged(self, route: Route, scope: dict[str, Any], headers: dict[str, str],
                      body: bytes) -> dict[str, Any]:
        """The caller of an AWS_IAM method, judged by the AWS process's evaluator; refused if it cannot answer."""
        if self.judge_caller is None:
            return {"allowed": False, "status": 403, "body": {"message": "Missing Authentication Token"}}
        asked = {"method": scope["method"], "raw_path": (scope.get("raw_path") or scope["path"].encode()).decode(
                     "latin-1"), "query": scope["query_string"].decode("latin-1"), "headers": headers,
                 "payload_hash": hashlib.sha256(body).hexdigest(),
                 "source_ip": (scope.get("client") or ["127.0.0.1"])[0]}
        try:
            return dict(await asyncio.get_running_loop().run_in_executor(self.executor, self.judge_caller, route,
                                                                         asked))
        except Exception as error:  # the evaluator unreachable: refuse, as a failed authorization would
            if self.on_error:
                self.on_error(f"judging a caller of {route.method} {route.path} failed: {error!r}")
            return {"allowed": False, "status": 500, "error_type": "InternalServerErrorException",
                    "body": {"message": "Internal server error"}}

    async def _invoke(self, route: Route, event: dict[str, Any], timing: dict[str, float]) -> Answer:
        name = route.function.logical_id
        allowed, reserved = await asyncio.get_running_loop().run_in_executor(self.executor, self.invoke_policy, route)
        if not allowed:
            logging.getLogger("uvicorn.error").warning(  # to api.log, as API Gateway's execution log says it
                "Execution failed due to configuration error: Invalid permissions on Lambda function %s",
                route.function.name)
            return INTERNAL_ERROR[500]
        admission = self.admissions.get(name) or self.admissions.setdefault(
            name, Admission(self.pools[name], self.concurrency_limit))
        limit = admission.limit if reserved is None else min(admission.limit, reserved)
        if admission.in_flight >= limit:  # Lambda throttles; API Gateway answers a proxy's 429 with 500
            if self.on_throttle:
                self.on_throttle(route.function.name)
            return INTERNAL_ERROR[500]
        admission.in_flight += 1
        started = time.monotonic()
        try:
            try:
                await asyncio.wait_for(admission.slots.acquire(), INTEGRATION_TIMEOUT_SECONDS)
            except TimeoutError:
                return TIMED_OUT
            try:
                wait = INTEGRATION_TIMEOUT_SECONDS - (time.monotonic() - started)
                result = await asyncio.get_running_loop().run_in_executor(
                    self.executor, admission.pool.invoke, event, wait)
            finally:
                admission.slots.release()
        except InvocationError as error:
            if self.on_error and error.error_type.startswith(("Runtime.", "Sandbox.")):
                self.on_error(f"{name}: {error}")  # the function's own errors are in its log, as on Lambda
            return INTERNAL_ERROR[502]
        finally:
            admission.in_flight -= 1
            timing["integration_ms"] = (time.monotonic() - started) * 1000
        return proxy_answer(result, event["requestContext"]["requestId"])

    async def _body(self, receive: Any) -> bytes | None:
        """The whole body; None if over the limit; _Disconnected if the client gave up first."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_PAYLOAD_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)
