"""The local AWS endpoint's server: HTTPS, keep-alive, a pool of threads, in front of a WSGI app (moto).

HTTPS because every queue and topic policy of this stack denies requests that are not over TLS
(local/certificates.py makes the CA). cheroot (CherryPy's server) because it serves WSGI over TLS with
keep-alive from a thread pool: moto's own werkzeug server closes the connection after every response,
and waitress, used before, speaks no TLS. Measured side by side, serving moto's SQS with keep-alive,
cheroot over TLS answered as many calls a second as waitress over plain HTTP.
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys
import threading
from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from local.certificates import Certificates

THREADS = 32  # concurrent AWS calls; a long poll (WaitTimeSeconds) holds one for its wait
# Idle keep-alive connections kept open. cheroot's default is 10: past it, every response says
# "Connection: close", and each function environment, poller and client of this stack (dozens) paid a new
# TCP connection and TLS handshake per call (measured: ~2,300 server-closed connections in a 600-ride run).
KEEP_ALIVE_CONNECTIONS = 1024


PEER_GONE = (ssl.SSLEOFError, ssl.SSLZeroReturnError)  # the client closed its connection: nothing went wrong here


def _quiet_about_peers_gone(error_log: Any) -> Any:
    """cheroot's error log, without its reports of a client that went away. Over TLS that is SSL's EOF, which
    cheroot does not count among the disconnects it ignores (as it does a reset or a broken pipe): a
    traceback for every call in flight when function environments stop (Ctrl-C under load, an environment
    killed mid-call), and a line for every connection closed before its handshake (`wildrydes`'s check that
    the local cloud answers). A handshake that fails for a reason of its own (a client that does not trust
    the CA) is still reported."""
    def error_log_without_gone_peers(msg: str = "", level: int = 20, traceback: bool = False) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, PEER_GONE) and not isinstance(getattr(error, "__cause__", None), PEER_GONE):
            error_log(msg, level, traceback)
    return error_log_without_gone_peers


def _free_port(host: str) -> int:
    """A port free now. cheroot sets SO_REUSEADDR only on a port it is given (never on port 0), and without it
    the port stays taken for a minute after the server stops (TIME_WAIT): the next start could not have it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class HttpsServer:
    def __init__(self, app: Any, host: str, port: int, certificates: Certificates | None) -> None:
        """`certificates` None: plain HTTP (benchmarks that measure what TLS costs)."""
        logging.getLogger("cheroot").setLevel(logging.ERROR)
        self.server = wsgi.Server((host, port or _free_port(host)), app, numthreads=THREADS, request_queue_size=1024,
                                  server_name="local-aws", timeout=300)
        self.server.keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS
        self.server.error_log = _quiet_about_peers_gone(self.server.error_log)
        if certificates is not None:
            self.server.ssl_adapter = BuiltinSSLAdapter(str(certificates.certificate), str(certificates.key))
        self.scheme = "https" if certificates is not None else "http"
        self.server.prepare()  # binds: OSError (port in use) here
        self.thread = threading.Thread(target=self.server.serve, daemon=True, name="aws-server")

    @property
    def url(self) -> str:
        host, port = self.server.bind_addr[:2]
        return f"{self.scheme}://{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.stop()
