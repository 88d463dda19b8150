"""The local cloud's own endpoints (`/_localcloud/...` on its AWS endpoint, local/control.py), for its other
process, `wildrydes`, the demo and the benchmarks: one keep-alive HTTPS connection pool that trusts the local
CA, so a call per request (the API's IAM callers are judged there) pays no TLS handshake.
"""

from __future__ import annotations

import json
import threading
from typing import Any

PREFIX = "/_localcloud/"


class ControlError(RuntimeError):
    """The local cloud's control endpoint did not answer, or answered what is not JSON."""


class ControlClient:
    def __init__(self, endpoint_url: str, ca_bundle: str | None = None, timeout: float = 10.0) -> None:
        self.base, self.ca_bundle, self.timeout = endpoint_url.rstrip("/") + PREFIX, ca_bundle, timeout
        self.lock = threading.Lock()
        self._client: Any = None

    def _http(self) -> Any:
        with self.lock:
            if self._client is None:
                import ssl

                import httpx

                verify = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else True
                self._client = httpx.Client(verify=verify, timeout=self.timeout,
                                            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
            return self._client

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The endpoint's JSON answer; ControlError if it cannot be had."""
        import httpx

        url = self.base + path
        try:
            response = self._http().request(method, url, content=None if body is None else json.dumps(body))
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ControlError(f"{method} {url}: {error}") from error

    def close(self) -> None:
        with self.lock:
            if self._client is not None:
                self._client.close()
                self._client = None
