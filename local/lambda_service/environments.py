"""Execution environments: each one a process running one function's handler, one invocation at a time.

A Lambda execution environment is a process of its own: its modules, globals and environment
variables are its own. The local cloud does the same, so handler code (and Powertools' singletons)
run as they do on Lambda, in parallel on every core. Three things keep that cheap and faithful:

- **Pre-warmed, like a snapshot.** Environments are forked from a server process that has already
  imported what the Lambda runtime and the Powertools layer provide (boto3, pydantic, Powertools), so a
  cold start costs the function's own init (~0.1 s), not a fresh interpreter's imports (~1 s each). A
  burst no longer makes a dozen interpreters import the same libraries at once on two cores.
- **Inits are capped** at one per core at a time (`init_slots`), the rest wait their turn.
- **Lambda's limits.** The init has its own limit (10 s on Lambda); an init that exceeds it is not
  an error: as on Lambda it is retried inside the invocation, under the function timeout, and only
  then reported (`Sandbox.Timedout`, naming the init). The handler is cut off at the function timeout
  (the environment is killed, as Lambda resets it). Synchronous callers (the API) share a pool of
  environments per function and wait for a free one, as a request on Lambda waits for a cold start.

Each environment (each process: a reset starts a new one) writes to a log stream of its own in the
function's log group, as Lambda does: its output, framed by START/END/REPORT (local/logs/lambda_lines.py),
handed to `log_sink` (a local/logs/shipper.LogShipper's `put`) once the invocation is over. What an
invocation reports (its error, its record, the observer) is in invocations.py.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.cloudformation.deployment import FunctionSpec
from local.lambda_service.invocations import InvocationError, InvocationRecord, LogSink, Observer
from local.lambda_service.zygote import ForkedProcess, Zygote
from local.logs import lambda_lines
from local.options import ACCOUNT, INIT_LIMIT_SECONDS

ROOT = str(Path(__file__).resolve().parents[2])  # the project: hidden from the functions' import path
# Variables every environment gets, as Lambda sets them; the function's own come on top.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


class ExecutionEnvironment:
    """One process for one function; started on its first invocation (a cold start), reused after."""

    def __init__(self, function: FunctionSpec, *, zygote: Zygote,
                 aws_environment: dict[str, str] | Callable[[], dict[str, str]], log_path: Path,
                 init_slots: threading.Semaphore, init_limit_seconds: float = INIT_LIMIT_SECONDS,
                 observer: Observer | None = None, log_sink: LogSink | None = None) -> None:
        self.function = function
        self.log_sink = log_sink
        self.stream = ""  # this process's log stream, named at its cold start
        self.init_ms: float | None = None  # the init to report with the next invocation (a cold start's)
        self.zygote = zygote
        self.aws_environment = aws_environment
        self.region = "us-east-1"  # as the environment says, once started
        self.log_path = log_path
        self.init_slots = init_slots
        self.init_limit_seconds = init_limit_seconds
        self.observer = observer
        self.process: Any = None
        self.connection: Any = None
        self.lock = threading.Lock()
        self.closed = False

    @property
    def warm(self) -> bool:
        return self.process is not None

    def _environment(self) -> dict[str, str]:
        environment = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        # a callable is asked at each cold start: a new environment gets a new session of the role, as on AWS
        environment.update(self.aws_environment() if callable(self.aws_environment) else self.aws_environment)
        self.region = environment.get("AWS_REGION", self.region)
        environment.update({
            "AWS_LAMBDA_FUNCTION_NAME": self.function.name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": self.function.group, "AWS_LAMBDA_LOG_STREAM_NAME": self.stream,
            "LAMBDA_TASK_ROOT": str(self.function.code_dir), "PYTHONDONTWRITEBYTECODE": "1"})
        if self.function.log_format == "JSON":
            environment["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            if self.function.application_log_level:
                environment["AWS_LAMBDA_LOG_LEVEL"] = self.function.application_log_level
        environment.update(self.function.environment)
        return environment

    def _init(self) -> float:
        """Start the process and import the handler; return the seconds the invocation may still take."""
        f = self.function
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.init_slots:
            if self.closed:
                raise InvocationError("Runtime.ExitError", "the local cloud is stopping")
            self.stream = lambda_lines.stream_name()
            try:
                pid, self.connection = self.zygote.fork({
                    "code_dir": str(f.code_dir), "handler": f.handler, "environment": self._environment(),
                    "log_path": str(self.log_path), "timeout_seconds": f.timeout_seconds, "hidden_paths": [ROOT]})
            except OSError as error:
                raise InvocationError("Runtime.ExitError", str(error)) from None
            self.process = ForkedProcess(pid)
            first = self._receive(self.init_limit_seconds)
            budget = float(f.timeout_seconds)
            if first is None:  # as on Lambda: the init is retried inside the invocation, under its timeout
                self._log(f"INIT_REPORT Init Duration: {self.init_limit_seconds * 1000:.2f} ms Phase: init "
                          "Status: timeout (retried inside the invocation, under the function timeout)")
                waited = time.monotonic()
                first = self._receive(budget)
                if first is None:
                    self.reset()
                    raise InvocationError("Sandbox.Timedout", (
                        f"Task timed out after {budget:.2f} seconds: the init did not finish (it exceeded the "
                        f"{self.init_limit_seconds:g} s init limit and was retried inside the invocation)"))
                budget -= time.monotonic() - waited
        self._ship([(t, m) for t, m in first.get("logs", [])])
        self.init_ms = first.get("init_ms")
        if not first.get("ready"):
            self.reset()
            raise InvocationError("Runtime.ImportModuleError",
                                  f"{f.logical_id}: handler {f.handler} raised on import: "
                                  f"{first.get('errorType')}: {first.get('errorMessage')}",
                                  "".join(first.get("trace", [])))
        return budget

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message from the environment; None if none came in time."""
        connection = self.connection
        try:
            if not connection.poll(max(0.0, timeout)):
                return None
            return dict(connection.recv())
        except (EOFError, OSError, AttributeError):  # it exited, or the local cloud is stopping
            self.reset()
            raise InvocationError("Runtime.ExitError", f"the environment exited; see {self.log_path}") from None

    def _log(self, line: str) -> None:
        with self.log_path.open("a") as log:
            log.write(line + "\n")
        self._ship([(int(time.time() * 1000), line)])

    def _frame(self, report: lambda_lines.Report, lines: list[tuple[int, str]]) -> None:
        """An invocation's lines, framed as Lambda frames them, to the function's log group."""
        f = self.function
        if self.log_sink and self.stream:
            self.log_sink(f.group, self.stream, lambda_lines.invocation(
                report, lines, json_format=f.log_format == "JSON", system_level=f.system_log_level))

    def _ship(self, events: list[tuple[int, str]]) -> None:
        if self.log_sink and events and self.stream:
            self.log_sink(self.function.group, self.stream, events)

    def invoke(self, event: dict[str, Any]) -> Any:
        """The handler's return value; InvocationError if it raised, timed out or could not start."""
        with self.lock:
            started = time.monotonic()
            cold = self.process is None
            error: str | None = "Unknown"
            if self.observer:
                self.observer.begin(self.function.name)
            try:
                budget = self._init() if cold else float(self.function.timeout_seconds)
                result = self._invoke(event, budget)
                error = None
                return result
            except InvocationError as failure:
                error = failure.error_type
                raise
            finally:
                if self.observer:
                    self.observer.end(InvocationRecord(self.function.name, (time.monotonic() - started) * 1000,
                                                   error, cold))

    def _invoke(self, event: dict[str, Any], budget: float) -> Any:
        f = self.function
        request_id = str(uuid.uuid4())
        context = {"function_name": f.name, "memory_limit_in_mb": f.memory_mb,
                   "invoked_function_arn": f"arn:aws:lambda:{self.region}:"
                                           f"{ACCOUNT}:function:{f.name}",
                   "aws_request_id": request_id}
        started_ms, started = int(time.time() * 1000), time.monotonic()
        init_ms, self.init_ms = self.init_ms, None
        try:
            self.connection.send({"event": event, "context": context})
        except (BrokenPipeError, OSError):
            self.reset()
            raise InvocationError("Runtime.ExitError", "the environment died") from None

        def failed(**how: Any) -> lambda_lines.Report:  # the process is gone, and its output with it
            return lambda_lines.Report(request_id, started_ms, (time.monotonic() - started) * 1000, f.memory_mb, 0,
                                       init_ms, **how)
        try:
            answer = self._receive(budget)
        except InvocationError:
            self._frame(failed(exited=True), [])
            raise
        if answer is None:
            self.reset()  # Lambda resets an environment whose invocation timed out
            self._frame(failed(timed_out_after=float(f.timeout_seconds)), [])
            raise InvocationError("Sandbox.Timedout", f"Task timed out after {f.timeout_seconds:.2f} seconds")
        self._frame(lambda_lines.Report(request_id, started_ms, float(answer.get("duration_ms", 0)), f.memory_mb,
                                        int(answer.get("max_memory_mb", 0)), init_ms, ended_ms=int(time.time() * 1000)),
                    [(t, m) for t, m in answer.get("logs", [])])
        if not answer.get("ok"):
            raise InvocationError(answer.get("errorType", "Error"), answer.get("errorMessage", ""),
                                  "".join(answer.get("trace", [])))
        return json.loads(answer["result"])

    def reset(self) -> None:
        """Kill the process (if any); the next invocation is a cold start."""
        process, connection = self.process, self.connection
        self.process = self.connection = None
        if process is not None:
            process.kill()
            process.close()
        if connection is not None:
            connection.close()

    def kill(self, *, closing: bool = True) -> None:
        """From another thread: end the process; the invocation under way (if any) fails and resets.

        `closing=False` is a crash: the next invocation starts a new environment (a cold start)."""
        self.closed = self.closed or closing
        process = self.process
        if process is not None:
            process.kill()


class FunctionPool:
    """Up to `size` environments of one function for synchronous callers (the API). A caller beyond them
    waits for one to be free, as a request on Lambda waits for a new environment's cold start; the
    function's concurrency limit (throttling) is the caller's to apply (local/api.py)."""

    def __init__(self, function: FunctionSpec, *, size: int, factory: Callable[[], ExecutionEnvironment]) -> None:
        self.function, self.size = function, size
        self.factory = factory
        self.idle: list[ExecutionEnvironment] = []
        self.all: list[ExecutionEnvironment] = []
        self.free = threading.Condition()
        self.closed = False

    def acquire(self, timeout: float | None = None) -> ExecutionEnvironment:
        """A free environment, warm first, a new one while fewer than `size` exist; else wait for one."""
        with self.free:
            if not self.free.wait_for(lambda: self.closed or self.idle or len(self.all) < self.size, timeout):
                raise InvocationError("Sandbox.Timedout", "no execution environment became free in time")
            if self.closed:
                raise InvocationError("Runtime.ExitError", "the local cloud is stopping")
            if self.idle:
                warm = [e for e in self.idle if e.warm]
                environment = (warm or self.idle)[-1]
                self.idle.remove(environment)
                return environment
            environment = self.factory()
            self.all.append(environment)
            return environment

    def release(self, environment: ExecutionEnvironment) -> None:
        with self.free:
            self.idle.append(environment)
            self.free.notify()

    def invoke(self, event: dict[str, Any], timeout: float | None = None) -> Any:
        environment = self.acquire(timeout)
        try:
            return environment.invoke(event)
        finally:
            self.release(environment)

    def prewarm(self) -> None:
        """Start one environment ahead of the first request (in the caller's thread)."""
        try:
            environment = self.acquire(timeout=0)
        except InvocationError:
            return
        try:
            with environment.lock:
                if not environment.warm and not environment.closed:
                    environment._init()
        except InvocationError:
            pass  # reported when a real invocation meets it
        finally:
            self.release(environment)

    def close(self) -> None:
        with self.free:
            self.closed = True
            environments = list(self.all)
            self.free.notify_all()
        for environment in environments:
            environment.kill()
