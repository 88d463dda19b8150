"""The local Lambda runtime's side of an execution environment, and the process environments are forked from.

`python sandbox.py CONTROL_FD MODULE...` is the *zygote*: it imports what the Lambda runtime and the
Powertools layer provide (boto3, pydantic, Powertools: the modules named), then forks one process per
execution environment the local cloud asks for, the way a Lambda sandbox is restored from a snapshot:
those libraries are already imported, the function's own code is not. A request arrives on the
control socket as one JSON line with the environment's socket attached (SCM_RIGHTS); the zygote answers
{"pid": N}. It ignores Ctrl-C, reaps its children, and exits when the control socket closes.

Each forked environment (`serve`) takes the function's environment variables, its code directory and its
log file, imports the handler (the init), says whether that worked, then answers one invocation at a
time over its socket (multiprocessing's Connection framing):

    local cloud -> {"event", "context"}      environment -> {"ok": True, "result": <JSON text>}
                                                         or {"ok": False, "errorType", "errorMessage", "trace"}

The first message is {"ready": True, "init_ms"} or the init error. Whatever the handler prints or logs
goes to the function's log file, and each line is also kept, with the time it was written, and sent with
the next message as "logs": [[ms, line], ...] (for its CloudWatch Logs stream, local/logs/); an answer
also carries the handler's "duration_ms" and the process's "max_memory_mb" (Lambda's REPORT line).
Standalone on purpose: it imports nothing of the project.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import os
import resource
import signal
import socket
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any


class Context:
    """The parts of the Lambda context object that handlers and Powertools use."""

    def __init__(self, values: dict[str, Any], timeout_seconds: float) -> None:
        self.function_name = values["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = values["invoked_function_arn"]
        self.memory_limit_in_mb = values["memory_limit_in_mb"]
        self.aws_request_id = values["aws_request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{self.function_name}")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Captured(io.TextIOBase):
    """stdout or stderr: written through to the log file, each complete line also kept with its time."""

    def __init__(self, target: Any, lines: list[list[Any]]) -> None:
        self.target, self.lines, self.partial = target, lines, ""

    def write(self, text: str) -> int:
        self.target.write(text)
        if "\n" not in text:
            self.partial += text
            return len(text)
        *complete, rest = (self.partial + text).split("\n")
        self.partial = rest
        now = int(time.time() * 1000)
        self.lines.extend([now, line] for line in complete if line)
        return len(text)

    def end_line(self) -> None:
        """A line still unfinished is kept as it is (the invocation is over)."""
        if self.partial:
            self.lines.append([int(time.time() * 1000), self.partial])
            self.partial = ""

    def flush(self) -> None:
        self.target.flush()

    def fileno(self) -> int:
        return int(self.target.fileno())

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(self.target.encoding)

    def __getattr__(self, name: str) -> Any:  # buffer, errors, reconfigure...: the file's own (not captured)
        return getattr(self.target, name)


LINES: list[list[Any]] = []
OUT = ERR = None  # the captured streams, once in the sandbox


def _logs() -> list[list[Any]]:
    """The lines written since the last message, and forget them."""
    for stream in (OUT, ERR):
        if stream is not None:
            stream.end_line()
    taken = LINES[:]
    LINES.clear()
    return taken


def _max_memory_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # KiB on Linux


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {"ok": False, "errorType": error_type or type(exc).__name__, "errorMessage": str(exc),
            "trace": traceback.format_exception(exc)}


def _enter_sandbox(spec: dict[str, Any]) -> None:
    """Become the function's process: its environment, its code first on the path, its log file."""
    log = os.open(spec["log_path"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    global OUT, ERR
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    OUT, ERR = _Captured(sys.stdout, LINES), _Captured(sys.stderr, LINES)
    sys.stdout, sys.stderr = OUT, ERR  # type: ignore[assignment]
    os.environ.clear()
    os.environ.update(spec["environment"])
    os.chdir(spec["code_dir"])
    hidden = {*spec["hidden_paths"], os.path.dirname(os.path.abspath(__file__)), "", "."}
    sys.path[:] = [spec["code_dir"], *(p for p in sys.path if p not in hidden)]


def serve(connection: Connection, spec: dict[str, Any]) -> None:
    """One execution environment: init, then invocations until the local cloud closes the connection."""
    _enter_sandbox(spec)
    module_name, _, function_name = spec["handler"].rpartition(".")
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except BaseException as exc:  # an init error must reach the local cloud, whatever it is
        traceback.print_exc()
        connection.send({**_error(exc), "logs": _logs()})
        return
    connection.send({"ready": True, "init_ms": round((time.perf_counter() - started) * 1000, 2), "logs": _logs()})
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):  # the local cloud closed the environment
            return
        context = Context(request["context"], float(spec["timeout_seconds"]))
        started = time.perf_counter()
        try:
            result = handler(request["event"], context)
        except Exception as exc:
            traceback.print_exc()
            answer = _error(exc)
        else:
            try:
                answer = {"ok": True, "result": json.dumps(result)}
            except (TypeError, ValueError) as exc:  # Lambda answers Runtime.MarshalError for what JSON cannot hold
                answer = _error(exc, "Runtime.MarshalError")
        connection.send({**answer, "duration_ms": (time.perf_counter() - started) * 1000, "logs": _logs(),
                         "max_memory_mb": _max_memory_mb()})


def _reap(*_: Any) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _fork(control: socket.socket, spec: dict[str, Any], channel: int) -> int:
    pid = os.fork()
    if pid:
        os.close(channel)
        return pid
    code = 0
    try:  # the environment
        gc.enable()
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        serve(Connection(channel), spec)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def zygote(control_fd: int, preload: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the local cloud's to handle, and so for children
    # As Python's gc documentation advises a process that forks without exec: no collection while the
    # libraries load (no holes in their pages), and what they made frozen, so that an environment's
    # collections neither walk it nor write to it (which would copy its pages into every environment).
    gc.disable()
    for name in preload:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    gc.freeze()
    signal.signal(signal.SIGCHLD, _reap)
    control = socket.socket(fileno=control_fd)
    buffered = b""
    while True:
        data, fds, _, _ = socket.recv_fds(control, 1 << 20, 4)
        if not data:  # the local cloud is gone
            return
        buffered += data
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            pid = _fork(control, json.loads(line), fds.pop(0))
            control.sendall(json.dumps({"pid": pid}).encode() + b"\n")


if __name__ == "__main__":
    zygote(int(sys.argv[1]), sys.argv[2:])
