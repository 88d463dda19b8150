"""A local API Gateway: serves the REST API's Lambda proxy routes on 127.0.0.1.

Routes come from the template (AWS::ApiGateway::Method with an AWS_PROXY integration), under the
stage name, as on AWS: POST http://127.0.0.1:PORT/prod/submit-ride-completion.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.deploy import Route
from local.runtime import EnvironmentPool, InvocationError

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's limit


class LocalApi:
    def __init__(self, routes: list[Route], pools: dict[str, EnvironmentPool], *, stage: str, host: str,
                 port: int) -> None:
        self.routes = {(r.method, f"/{stage}{r.path}"): r for r in routes}
        self.pools = pools
        self.stage = stage
        self.statuses: Counter[int] = Counter()
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "LocalApiGateway"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: counted in statuses
                return

            def _serve(self) -> None:
                status, headers, body = api.handle(self.command, self.path, dict(self.headers.items()),
                                                   self._body())
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                payload = body.encode()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> bytes | None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_PAYLOAD_BYTES:
                    return None
                return self.rfile.read(length) if length else b""

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="local-api")

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/{self.stage}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes | None) -> tuple:
        path, _, query = raw_path.partition("?")
        route = self.routes.get((method, path))
        if body is None:
            result = (413, {"Content-Type": "application/json"}, json.dumps({"message": "Request Too Long"}))
        elif route is None:  # what API Gateway answers for an unknown route
            result = (403, {"Content-Type": "application/json"},
                      json.dumps({"message": "Missing Authentication Token"}))
        else:
            result = self._invoke(route, path, query, headers, body)
        with self.lock:
            self.statuses[result[0]] += 1
        return result

    def _invoke(self, route: Route, path: str, query: str, headers: dict[str, str], body: bytes) -> tuple:
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:  # binary: API Gateway passes it base64-encoded
            text, encoded = base64.b64encode(body).decode(), True
        event = {
            "resource": route.path, "path": route.path, "httpMethod": route.method, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": dict(p.split("=", 1) for p in query.split("&") if "=" in p) or None,
            "pathParameters": None, "stageVariables": None, "body": text if body else None,
            "isBase64Encoded": encoded,
            "requestContext": {"requestId": str(uuid.uuid4()), "stage": self.stage, "httpMethod": route.method,
                               "resourcePath": route.path, "path": path, "requestTimeEpoch": int(time.time() * 1000)},
        }
        try:
            response = self.pools[route.function.logical_id].invoke(event)
        except InvocationError as error:
            return (502, {"Content-Type": "application/json"},
                    json.dumps({"message": "Internal server error", "localError": str(error)}))
        if not isinstance(response, dict) or "statusCode" not in response:
            return (502, {"Content-Type": "application/json"}, json.dumps({"message": "Internal server error"}))
        status = int(response["statusCode"])
        return (status if status in HTTPStatus._value2member_map_ else 502, dict(response.get("headers") or {}),
                str(response.get("body") or ""))
