"""The process that hosts the local AWS: moto's server, the deployed stack, and the Lambda service's side
of it (the event source mappings and their execution environments).

Started by local/cloud.py as `python -m local.aws_process '<options JSON>'`. It answers on stdout with one
JSON line, {"ready": true, "aws_endpoint_url", "deployment"} or {"error": "..."}, and runs until its
stdin closes (the local cloud stopped, or died) or it gets SIGTERM. It is a process of its own so that
moto, which does most of the work at load, has an interpreter (and a lock) of its own, while the local
cloud's process serves the API.

Control endpoints for tests and the demo (not AWS APIs), on the AWS endpoint's port:
    GET  /_localcloud/status                          every mapping: counters, paused, problems
    GET  /_localcloud/mappings/<function logical id>  one mapping, with per-message detail
    POST /_localcloud/mappings/<function logical id>/pause | resume | kill-environments
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import moto_patches
from local.assembly import load_stacks
from local.clients import FAKE_CREDENTIALS, Clients
from local.deploy import Deployer, Deployment
from local.lambda_metrics import NAMESPACE, LambdaMetrics, MetricsPublisher
from local.pollers import QueuePoller
from local.queues import QueueAccess
from local.runtime import INIT_LIMIT_SECONDS, ExecutionEnvironment, Zygote

CONTROL_PREFIX = "/_localcloud/"
SERVER_THREADS = 32  # concurrent AWS calls; a long poll (WaitTimeSeconds) holds one for its wait


@dataclass(frozen=True)
class AwsOptions:
    cdk_out: str
    host: str = "127.0.0.1"
    port: int = 0
    region: str = "us-east-1"
    stack_name: str | None = None
    time_scale: float = 1.0
    failure_rate: float | None = None
    log_dir: str = ".local/logs"
    paused: bool = False
    init_limit_seconds: float = INIT_LIMIT_SECONDS


def worker_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """What every local execution environment gets besides the function's own variables."""
    return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint_url, "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region, "POWERTOOLS_TRACE_DISABLED": "true"}


def _json_response(start_response: Any, status: str, body: Any) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


class LocalAws:
    def __init__(self, options: AwsOptions) -> None:
        self.options = options
        self.server: Any = None
        self.pollers: dict[str, QueuePoller] = {}
        self.problems: list[str] = []
        self.metrics = LambdaMetrics()
        self.publisher: MetricsPublisher | None = None
        self.zygote = Zygote()

    # -- start ----------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        o = self.options
        [stack] = [s for s in load_stacks(Path(o.cdk_out)) if o.stack_name in (None, s.name)][:1] or [None]
        if stack is None:
            raise LookupError(f"no stack {o.stack_name} in {o.cdk_out}")
        self._start_server()
        clients = Clients(self.endpoint_url, o.region)
        overrides = {} if o.failure_rate is None else {"FAILURE_RATE": str(o.failure_rate)}
        deployment = Deployer(clients, o.region).deploy(stack, environment_overrides=overrides)
        self._start_pollers(deployment)
        self.publisher = MetricsPublisher(self.metrics, lambda data: clients.client("cloudwatch").put_metric_data(
            Namespace=NAMESPACE, MetricData=data), on_error=self.report)
        self.publisher.start()
        return {"ready": True, "aws_endpoint_url": self.endpoint_url, "deployment": deployment.to_json()}

    def _start_server(self) -> None:
        import waitress
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        moto_patches.apply()
        logging.getLogger("moto").setLevel(logging.ERROR)  # "no CloudFormation support for X": known, handled
        logging.getLogger("waitress").setLevel(logging.ERROR)  # "task queue depth" notices at load
        warnings.filterwarnings("ignore", message="Tried to parse AWS::")
        moto = DomainDispatcherApplication(create_backend_app)
        # waitress, not moto's own werkzeug server: werkzeug closes the connection after every response,
        # so each call paid a TCP connect and a new thread (a third of this process's time at load).
        self.server = waitress.create_server(self._with_control(moto), host=self.options.host, port=self.options.port,
                                             threads=SERVER_THREADS, connection_limit=1000, channel_timeout=300,
                                             ident="local-aws")
        threading.Thread(target=self.server.run, daemon=True, name="aws-server").start()
        self.endpoint_url = f"http://{self.options.host}:{self.server.effective_port}"

    def _start_pollers(self, deployment: Deployment) -> None:
        o = self.options
        init_slots = threading.BoundedSemaphore(os.cpu_count() or 2)
        environment = worker_environment(self.endpoint_url, o.region)
        for mapping in deployment.mappings:
            log = Path(o.log_dir) / f"{mapping.function.logical_id}.log"
            environments = [ExecutionEnvironment(mapping.function, zygote=self.zygote, aws_environment=environment,
                                                 log_path=log, init_slots=init_slots,
                                                 init_limit_seconds=o.init_limit_seconds, observer=self.metrics)
                            for _ in range(mapping.max_concurrency)]
            queue = QueueAccess(mapping.queue_url, mapping.queue_arn, o.region)
            poller = QueuePoller(mapping, queue=queue, environments=environments, time_scale=o.time_scale,
                                 on_error=self.report)
            self.pollers[mapping.function.logical_id] = poller
        for poller in self.pollers.values():
            poller.start(paused=o.paused)
        threading.Thread(target=self.zygote.prewarm, daemon=True, name="zygote").start()

    def report(self, text: str) -> None:
        self.problems.append(text)
        print(f"local cloud: {text}", file=sys.stderr, flush=True)

    # -- control --------------------------------------------------------------------------------
    def _with_control(self, app: Any) -> Any:
        def control(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            if not path.startswith(CONTROL_PREFIX):
                return app(environ, start_response)
            return self._control(environ["REQUEST_METHOD"], path[len(CONTROL_PREFIX):].strip("/").split("/"),
                                 start_response)
        return control

    def _control(self, method: str, parts: list[str], start_response: Any) -> list[bytes]:
        if method == "GET" and parts == ["status"]:
            return _json_response(start_response, "200 OK", {
                "problems": self.problems,
                "mappings": {name: {**p.stats.summary(), "paused": p.paused, "queue_url": p.mapping.queue_url}
                             for name, p in self.pollers.items()}})
        poller = self.pollers.get(parts[1]) if len(parts) >= 2 and parts[0] == "mappings" else None
        if poller is None:
            return _json_response(start_response, "404 Not Found", {"message": f"no such mapping: {'/'.join(parts)}"})
        if method == "GET" and len(parts) == 2:
            with poller.lock:
                detail = poller.stats.detail()
            return _json_response(start_response, "200 OK", {**detail, "paused": poller.paused})
        actions = {"pause": poller.pause, "resume": poller.resume, "kill-environments": poller.kill_environments}
        if method == "POST" and len(parts) == 3 and parts[2] in actions:
            return _json_response(start_response, "200 OK", {"result": actions[parts[2]]()})
        return _json_response(start_response, "400 Bad Request", {"message": f"unknown action {method} {parts}"})

    # -- stop -----------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.publisher:
            self.publisher.stop()
        for poller in self.pollers.values():
            poller.stopping.set()
            poller.running.set()
            for environment in poller.environments:
                environment.kill()
        for poller in self.pollers.values():
            poller.stop()
        self.zygote.close()
        if self.server:
            self.server.close()


def main(argv: list[str]) -> int:
    options = AwsOptions(**json.loads(argv[1]))
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the local cloud's to handle
    aws = LocalAws(options)
    try:
        ready = aws.start()
    except Exception as error:  # a clear reason on the one line the local cloud reads
        aws.stop()
        print(json.dumps({"error": f"{type(error).__name__}: {error}" if not str(error) else str(error)}),
              flush=True)
        return 2
    print(json.dumps(ready), flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True, name="stdin-watch").start()
    stopped.wait()
    aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
