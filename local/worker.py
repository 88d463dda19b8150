"""One Lambda execution environment: a process that imports a handler once and runs invocations.

Started by local/runtime.py as `python worker.py CODE_DIR HANDLER`, with the function's environment.
Protocol on stdin/stdout, one JSON document a line: the parent sends {"event", "context"}; the
worker answers {"ok": true, "result"} or {"ok": false, "errorType", "errorMessage", "trace"}. The
first line it writes is {"ready": true} or, if the handler raises on import, the error. Whatever the
handler prints or logs goes to stderr, which the parent writes to the function's log file.
Standalone on purpose: it must not import the project, only the function's own code.
"""

import importlib
import json
import os
import sys
import time
import traceback


class Context:
    """The parts of the Lambda context object that handlers and Powertools use."""

    def __init__(self, values, timeout_seconds):
        self.function_name = values["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = values["invoked_function_arn"]
        self.memory_limit_in_mb = values["memory_limit_in_mb"]
        self.aws_request_id = values["aws_request_id"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc):
    return {"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc),
            "trace": traceback.format_exception(exc)}


def main():
    code_dir, handler_path = sys.argv[1], sys.argv[2]
    timeout_seconds = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the handler's prints and logs go to stderr (the function's log)
    sys.stdout = sys.stderr
    sys.path.insert(0, code_dir)

    def send(message):
        protocol.write(json.dumps(message, default=str) + "\n")

    module_name, _, function_name = handler_path.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except BaseException as exc:  # an import error must reach the parent, whatever it is
        send({**_error(exc), "phase": "init"})
        return 1
    send({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        context = Context(request["context"], timeout_seconds)
        try:
            result = handler(request["event"], context)
            send({"ok": True, "result": result})
        except Exception as exc:
            traceback.print_exc()
            send(_error(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
