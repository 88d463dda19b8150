"""The zygote: the pre-warmed process execution environments are forked from, as a Lambda sandbox is
restored from a snapshot (local/lambda_service/sandbox.py is its code). Started on first use; killed, not
awaited, when the local cloud stops (it holds nothing worth a graceful exit, and may be mid-import).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

SANDBOX = Path(__file__).resolve().parent / "sandbox.py"
# What the Lambda runtime (boto3) and the Powertools layer (Powertools, pydantic, the X-Ray SDK) provide: imported
# once in the zygote that environments are forked from. The function's own code is imported in each environment.
PRELOAD = ("json", "boto3", "botocore.session", "botocore.client", "pydantic", "aws_lambda_powertools",
           "aws_lambda_powertools.logging", "aws_lambda_powertools.metrics", "aws_lambda_powertools.tracing",
           "aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.parser", "aws_xray_sdk.core")


class Zygote:
    """The pre-warmed process (sandbox.py) that forks execution environments; started on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None
        self.replies = b""

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.process = subprocess.Popen([sys.executable, str(SANDBOX), str(theirs.fileno()), *PRELOAD],
                                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.control, self.replies = ours, b""

    def fork(self, spec: dict[str, Any]) -> tuple[int, Connection]:
        """A new environment's pid and the connection to it."""
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self._start()
            assert self.control is not None
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                socket.send_fds(self.control, [json.dumps(spec).encode() + b"\n"], [theirs.fileno()])
                while b"\n" not in self.replies:
                    chunk = self.control.recv(4096)
                    if not chunk:
                        raise OSError("the zygote exited")
                    self.replies += chunk
            except OSError as error:
                mine.close()
                self.process = None
                raise OSError(f"could not start an environment: {error}") from None
            finally:
                theirs.close()
            line, self.replies = self.replies.split(b"\n", 1)
            return int(json.loads(line)["pid"]), Connection(mine.detach())

    def prewarm(self) -> None:
        """Start the zygote now (it imports for about a second), rather than at the first cold start."""
        with self.lock:
            if self.process is None:
                self._start()

    def close(self) -> None:
        with self.lock:
            if self.control is not None:
                self.control.close()
                self.control = None
            if self.process is not None:  # it holds nothing worth a graceful exit, and may be mid-import
                self.process.kill()
                self.process.wait()
                self.process = None


class ForkedProcess:
    """An environment process the zygote forked. Killed through a pidfd where the OS has them (Linux), so
    that a pid the system has since reused is never signalled."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def kill(self) -> None:
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
