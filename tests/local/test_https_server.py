"""The local AWS endpoint's server says nothing of a client that went away mid-answer, and still reports
its own errors. Clients go away at every Ctrl-C under load (function environments stop mid-call)."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.certificates import ensure_certificates
from local.https_server import HttpsServer


def slow_large_answer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["PATH_INFO"] == "/fails":
        raise RuntimeError("the app's own failure")
    time.sleep(0.3)  # the client has gone by now
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"x" * 1_000_000]


@pytest.fixture
def server(tmp_path: Path) -> Any:
    certificates = ensure_certificates(tmp_path)
    server = HttpsServer(slow_large_answer, "127.0.0.1", 0, certificates)
    server.start()
    yield server, certificates
    server.stop()


def test_a_client_gone_prints_nothing_and_real_failures_are_still_told(server, capfd):
    https, certificates = server
    host, port = https.server.bind_addr[:2]
    context = ssl.create_default_context(cafile=str(certificates.ca))
    for _ in range(3):
        with context.wrap_socket(socket.create_connection((host, port)), server_hostname="127.0.0.1") as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: local\r\n\r\n")  # and goes away before the answer
    for _ in range(3):  # connected and closed before any handshake, as `wildrydes` checks the cloud answers
        socket.create_connection((host, port)).close()
    time.sleep(1.0)
    err = capfd.readouterr().err
    assert "socket.error" not in err and "Traceback" not in err and "lost" not in err

    with pytest.raises(httpx.ConnectError):  # a client that does not trust the CA: its failure is still told
        httpx.get(https.url)
    time.sleep(0.2)
    assert "TLSV1_ALERT_UNKNOWN_CA" in capfd.readouterr().err

    assert httpx.get(f"{https.url}/fails", verify=context).status_code == 500
    assert "RuntimeError: the app's own failure" in capfd.readouterr().err
