"""The process that hosts the local AWS: moto's server, the deployed stack, and the Lambda service's side
of it (the event source mappings and their execution environments).

Started by local/cloud.py as `python -m local.aws_process '<options JSON>'`. It answers on stdout with one
JSON line, {"ready": true, "aws_endpoint_url", "deployment"} or {"error": "..."}, and runs until its
stdin closes (the local cloud stopped, or died) or it gets SIGTERM. It is a process of its own so that
moto, which does most of the work at load, has an interpreter (and a lock) of its own, while the local
cloud's process serves the API.

Event source mappings are the Lambda API's (local/event_source_mappings.py): enable, disable or tune
one with `aws lambda update-event-source-mapping` as on AWS. Control endpoints for tests and the demo
(not AWS APIs), on the AWS endpoint's port:
    GET  /_localcloud/status                          every mapping: counters, state, problems
    GET  /_localcloud/mappings/<function logical id>  one mapping, with per-message detail
    POST /_localcloud/mappings/<function logical id>/kill-environments   a crash, for fault tests
    POST /_localcloud/stack-outputs                   the outputs as served locally (the local API's URL)
CloudFormation's reads of the deployed stack are answered here too (local/stack_reads.py); every other
request goes to moto.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from cloud_assembly import load_assembly
from local import moto_patches
from local.clients import local_clients
from local.cloudformation.deployment import Deployer, Deployment
from local.cloudformation.stack_reads import StackReads
from local.cloudwatch.publisher import MetricsPublisher
from local.lambda_service.environments import ExecutionEnvironment, Zygote
from local.lambda_service.event_source_mappings import MappingService, install
from local.lambda_service.metrics import NAMESPACE, LambdaMetrics
from local.lambda_service.pollers import MappingSettings, QueuePoller
from local.options import AwsOptions, worker_environment
from local.sqs.queues import QUEUE_NAMESPACE, QueueAccess, QueueMetrics

CONTROL_PREFIX = "/_localcloud/"
SERVER_THREADS = 32  # concurrent AWS calls; a long poll (WaitTimeSeconds) holds one for its wait


def _json_response(start_response: Any, status: str, body: Any) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


class LocalAws:
    def __init__(self, options: AwsOptions) -> None:
        self.options = options
        self.server: Any = None
        self.mappings = MappingService(on_error=self.report)
        self.names: dict[str, str] = {}  # mapping UUID -> the name its counters go by (its function's logical id)
        self.deployment: Deployment | None = None
        self.problems: list[str] = []
        self.metrics = LambdaMetrics()
        self.publisher: MetricsPublisher | None = None
        self.zygote = Zygote()
        self.init_slots = threading.BoundedSemaphore(os.cpu_count() or 2)
        self.stack_reads: StackReads | None = None

    # -- start ----------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        o = self.options
        stack = load_assembly(Path(o.cdk_out)).find(o.stack_name)
        install(self.mappings)
        self._start_server()
        clients = local_clients(self.endpoint_url, o.region)
        overrides = {} if o.failure_rate is None else {"FAILURE_RATE": str(o.failure_rate)}
        deployer = Deployer(clients, o.region)
        deployment = self.deployment = deployer.deploy(stack, environment_overrides=overrides)
        self.stack_reads = StackReads(deployment, stack.template, o.region, events=deployer.events)
        self.names = {m.uuid: m.function.logical_id for m in deployment.mappings}
        if o.paused:  # as if an operator had disabled every mapping right after the deploy
            for mapping in deployment.mappings:
                clients.client("lambda").update_event_source_mapping(UUID=mapping.uuid, Enabled=False)
        self.mappings.start(self._poller)
        resources = stack.template["Resources"]
        queue_urls = [deployment.physical_ids[lid] for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"]
        queues = QueueMetrics(queue_urls, o.region)
        self.publisher = MetricsPublisher({NAMESPACE: self.metrics.drain, QUEUE_NAMESPACE: queues.collect},
                                          clients.client("cloudwatch").put_metric_data, on_error=self.report)
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

    def _poller(self, esm: Any, settings: MappingSettings) -> QueuePoller | None:
        """The poller of a mapping (deployed, or created later through the Lambda API)."""
        o, deployment = self.options, self.deployment
        assert deployment is not None
        functions = {f.name: f for f in deployment.functions.values()}
        function = functions.get(esm.function_arn.rsplit(":", 1)[-1])
        if function is None:
            self.report(f"event source mapping {esm.uuid}: {esm.function_arn} is not a function of the stack; "
                        "the local cloud runs only the stack's own functions")
            return None
        name = self.names.setdefault(esm.uuid, esm.uuid)  # deployed ones are named for their function
        log = Path(o.log_dir) / f"{function.logical_id}.log"
        init_slots = self.init_slots
        environment = worker_environment(self.endpoint_url, o.region)

        def environment_factory() -> ExecutionEnvironment:
            return ExecutionEnvironment(function, zygote=self.zygote, aws_environment=environment, log_path=log,
                                        init_slots=init_slots, init_limit_seconds=o.init_limit_seconds,
                                        observer=self.metrics)

        return QueuePoller(name, settings, queue=QueueAccess(esm.event_source_arn, o.region),
                           environment_factory=environment_factory, time_scale=o.time_scale, on_error=self.report)

    @property
    def pollers(self) -> dict[str, QueuePoller]:
        """Every running mapping's poller, by the name its counters go by."""
        return {self.names.get(uuid, uuid): poller for uuid, poller in list(self.mappings.pollers.items())}

    def report(self, text: str) -> None:
        self.problems.append(text)
        print(f"local cloud: {text}", file=sys.stderr, flush=True)

    # -- control --------------------------------------------------------------------------------
    def _with_control(self, app: Any) -> Any:
        def control(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            if path.startswith(CONTROL_PREFIX):
                return self._control(environ["REQUEST_METHOD"], path[len(CONTROL_PREFIX):].strip("/").split("/"),
                                     start_response, environ)
            if "/cloudformation/aws4_request" in environ.get("HTTP_AUTHORIZATION", "") and self.stack_reads:
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again if the call is not answered here
                answer = self.stack_reads.answer(body)
                if answer:
                    start_response(answer[0], [("Content-Type", "text/xml"), ("Content-Length", str(len(answer[1])))])
                    return [answer[1]]
            return app(environ, start_response)
        return control

    def _control(self, method: str, parts: list[str], start_response: Any, environ: dict[str, Any]) -> list[bytes]:
        if method == "POST" and parts == ["stack-outputs"] and self.stack_reads:
            self.stack_reads.outputs = dict(json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH")
                                                                                          or 0))))
            return _json_response(start_response, "200 OK", {"result": len(self.stack_reads.outputs)})
        if method == "GET" and parts == ["status"]:
            return _json_response(start_response, "200 OK", {
                "problems": self.problems,
                "mappings": {name: {**p.stats.summary(), "state": p.state, "queue": p.queue.name}
                             for name, p in self.pollers.items()}})
        poller = self.pollers.get(parts[1]) if len(parts) >= 2 and parts[0] == "mappings" else None
        if poller is None:
            return _json_response(start_response, "404 Not Found", {"message": f"no such mapping: {'/'.join(parts)}"})
        if method == "GET" and len(parts) == 2:
            with poller.lock:
                detail = poller.stats.detail()
            return _json_response(start_response, "200 OK", {**detail, "state": poller.state})
        actions = {"kill-environments": poller.kill_environments}
        if method == "POST" and len(parts) == 3 and parts[2] in actions:
            return _json_response(start_response, "200 OK", {"result": actions[parts[2]]()})
        return _json_response(start_response, "400 Bad Request", {"message": f"unknown action {method} {parts}"})

    # -- stop -----------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.publisher:
            self.publisher.stop()
        self.mappings.stop()
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
    # Only now, not to slow the start: the zygote imports the runtime's libraries for about a second.
    threading.Thread(target=aws.zygote.prewarm, daemon=True, name="zygote").start()
    threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True, name="stdin-watch").start()
    stopped.wait()
    aws.stop()
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Nothing is left to save: skip freeing a heap of moto objects one by one (seconds after a long run).
    os._exit(code)
