"""Execution environments: each one a worker process running one function's handler.

A Lambda execution environment is a process of its own: its modules, globals and environment
variables are its own, and it handles one invocation at a time. The local cloud does the same, so
handler code (and Powertools' singletons) run as they do on Lambda, in parallel on every core.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from local.deploy import ACCOUNT, FunctionSpec

WORKER = Path(__file__).resolve().parent / "worker.py"
# Variables every environment gets, as Lambda sets them; the function's own come on top.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


class InvocationError(RuntimeError):
    """The invocation failed: the handler raised, timed out, or could not be imported."""

    def __init__(self, error_type: str, message: str, trace: str = "") -> None:
        self.error_type, self.trace = error_type, trace
        super().__init__(f"{error_type}: {message}")


class ExecutionEnvironment:
    """One worker process for one function; started on the first invocation (a cold start)."""

    def __init__(self, function: FunctionSpec, *, aws_environment: dict[str, str], log_path: Path) -> None:
        self.function = function
        self.aws_environment = aws_environment
        self.log_path = log_path
        self.process: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()

    def _start(self) -> None:
        environment = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        environment.update(self.aws_environment)
        environment.update({
            "AWS_LAMBDA_FUNCTION_NAME": self.function.name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE":
            str(self.function.memory_mb), "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.function.timeout_seconds),
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        })
        environment.update(self.function.environment)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), str(self.function.code_dir), self.function.handler],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=environment,
            cwd=self.function.code_dir)
        log.close()
        first = self._read(timeout=max(10.0, float(self.function.timeout_seconds)))
        if not first.get("ready"):
            self.stop()
            raise InvocationError("Runtime.ImportModuleError",
                                  f"{self.function.logical_id}: handler {self.function.handler} raised on import: "
                                  f"{first.get('errorType')}: {first.get('errorMessage')}",
                                  "".join(first.get("trace", [])))

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.stop()
                raise InvocationError("Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds")
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            self.process = None
            raise InvocationError("Runtime.ExitError", f"the environment exited with code {code}; see {self.log_path}")
        return dict(json.loads(line))

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's return value; InvocationError if it raised, timed out or could not start."""
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self._start()
            assert self.process is not None and self.process.stdin is not None
            context = {"function_name": self.function.name, "memory_limit_in_mb": self.function.memory_mb,
                       "invoked_function_arn": f"arn:aws:lambda:{self.aws_environment['AWS_REGION']}:{ACCOUNT}:"
                                               f"function:{self.function.name}",
                       "aws_request_id": str(uuid.uuid4())}
            try:
                self.process.stdin.write(json.dumps({"event": event, "context": context}) + "\n")
                self.process.stdin.flush()
            except BrokenPipeError:
                self.stop()
                raise InvocationError("Runtime.ExitError", "the environment died") from None
            answer = self._read(timeout=float(self.function.timeout_seconds))
            if not answer.get("ok"):
                raise InvocationError(answer.get("errorType", "Error"), answer.get("errorMessage", ""),
                                      "".join(answer.get("trace", [])))
            return answer.get("result")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


class EnvironmentPool:
    """Environments of one function for callers that need no fixed worker (the API)."""

    def __init__(self, function: FunctionSpec, *, aws_environment: dict[str, str], log_path: Path,
                 limit: int = 10) -> None:
        self.function, self.aws_environment, self.log_path = function, aws_environment, log_path
        self.idle: list[ExecutionEnvironment] = []
        self.all: list[ExecutionEnvironment] = []
        self.limit = threading.BoundedSemaphore(limit)
        self.lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self.limit:
            with self.lock:
                environment = self.idle.pop() if self.idle else None
                if environment is None:
                    environment = ExecutionEnvironment(self.function, aws_environment=self.aws_environment,
                                                       log_path=self.log_path)
                    self.all.append(environment)
            try:
                return environment.invoke(event)
            finally:
                with self.lock:
                    self.idle.append(environment)

    def stop(self) -> None:
        for environment in self.all:
            environment.stop()
