"""How the local cloud is started: its options (`make local`'s flags), their defaults, and the check that a
port is free before anything starts (a clear error instead of a bind failure deep in a server thread)."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from pathlib import Path

from cloud_assembly import ROOT
from local.cloud_controls import LocalCloudError
from local.options import INIT_LIMIT_SECONDS

DEFAULT_API_PORT = 3000
DEFAULT_AWS_PORT = 5050
DEFAULT_FUNCTION_CONCURRENCY = 1000  # Lambda's default concurrency limit (a new account may have 10)
DEFAULT_API_ENVIRONMENTS = 10  # local processes per function the API invokes (requests beyond wait for one)
HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60
STOP_SECONDS = 1.5  # how long the AWS process may take to stop before it is killed


@dataclass
class LocalCloudOptions:
    cdk_out: Path = ROOT / "cdk.out"
    api_port: int = DEFAULT_API_PORT  # 0: any free port
    aws_port: int = DEFAULT_AWS_PORT
    region: str = "us-east-1"
    time_scale: float = 1.0  # failed records come back after visibility timeout x time_scale
    failure_rate: float | None = None  # None: as deployed (off by default); else set on every consumer
    log_dir: Path = ROOT / ".local" / "logs"
    allow_stale: bool = False
    paused: bool = False  # every mapping disabled after the deploy (tests that need a whole batch queued first)
    stack_name: str | None = None
    function_concurrency: int = DEFAULT_FUNCTION_CONCURRENCY  # beyond it the API throttles, as Lambda does
    api_environments: int = DEFAULT_API_ENVIRONMENTS
    init_limit_seconds: float = INIT_LIMIT_SECONDS
    enforce: bool = True  # IAM enforcement; False (ENFORCE_IAM=0): refusals are reported, not applied
    tls_dir: Path = ROOT / ".local" / "tls"  # the local CA (kept across runs: AWS_CA_BUNDLE stays valid)
    tls: bool = True  # False: plain HTTP (benchmarks of what TLS costs; the stack's policies then refuse)


def check_port(port: int, what: str, option: str) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is free
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise LocalCloudError(f"port {port} on {HOST} ({what}) is in use: stop what holds it, or choose "
                                      f"another with {option}") from error
            raise
