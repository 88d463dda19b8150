"""The process that hosts the local AWS: moto's server, the deployed stack, and the Lambda service's side
of it (the event source mappings and their execution environments).

Started by local/cloud.py as `python -m local.aws_process '<options JSON>'`. It answers on stdout with one
JSON line, {"ready": true, "aws_endpoint_url", "deployment"} or {"error": "..."}, and runs until its
stdin closes (the local cloud stopped, or died) or it gets SIGTERM. It is a process of its own so that
moto, which does most of the work at load, has an interpreter (and a lock) of its own, while the local
cloud's process serves the API.

Every AWS call passes the IAM gate first (local/iam/gate.py: who signed it, what it may do, as AWS
judges it); event source mappings are the Lambda API's (local/lambda_service/event_source_mappings.py).
The endpoint speaks HTTPS (local/https_server.py), with a CA of its own under .local/tls/. The local
cloud's own endpoints are under /_localcloud/ (local/control.py); CloudFormation's reads of the deployed
stack are answered here too (local/cloudformation/stack_reads.py); every other request goes to moto.
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
from local.certificates import ensure_certificates
from local.clients import local_clients
from local.cloudformation.deployment import Deployer, Deployment
from local.cloudformation.stack_reads import StackReads
from local.cloudwatch import alarm_service, put_metric_data
from local.cloudwatch.alarm_service import AlarmService
from local.cloudwatch.publisher import MetricsPublisher, publish_interval
from local.control import PREFIX, Control
from local.https_server import HttpsServer
from local.iam.enforcer import Enforcer
from local.iam.gate import Gate
from local.lambda_service.environments import ExecutionEnvironment, Zygote
from local.lambda_service.event_source_mappings import MappingService, install
from local.lambda_service.metrics import NAMESPACE, LambdaMetrics
from local.lambda_service.pollers import MappingSettings, QueuePoller
from local.lambda_service.roles import LambdaRoles
from local.logs.ingest import LogIngest
from local.logs.shipper import LogShipper
from local.options import ACCOUNT, AwsOptions, worker_environment
from local.process_life import building_what_lasts, wait_until_set
from local.sns import delivery
from local.sns import metrics as sns_metrics
from local.sqs import fifo
from local.sqs import metrics as sqs_metrics
from local.sqs.queues import QueueAccess


class LocalAws:
    def __init__(self, options: AwsOptions) -> None:
        self.options = options
        self.server: HttpsServer | None = None
        self.enforcer = Enforcer(ACCOUNT, options.region, enabled=options.enforce, on_problem=self.report)
        self.roles = LambdaRoles(self.enforcer, options.region)
        self.mappings = MappingService(on_error=self.report)
        self.mappings.role_refusal = self.roles.mapping_refusal
        self.names: dict[str, str] = {}  # mapping UUID -> the name its counters go by (its function's logical id)
        self.deployment: Deployment | None = None
        self.problems: list[str] = []
        self.metrics = LambdaMetrics()
        self.publisher: MetricsPublisher | None = None
        self.zygote = Zygote()
        self.init_slots = threading.BoundedSemaphore(os.cpu_count() or 2)
        self.stack_reads: StackReads | None = None
        self.alarms = AlarmService(self.enforcer, ACCOUNT, options.region, time_scale=options.time_scale,
                                   on_problem=self.report)
        self.log_ingest: LogIngest | None = None  # CloudWatch Logs: what the functions and the API write
        self.shipper: LogShipper | None = None

    # -- start ----------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        o = self.options
        stack = load_assembly(Path(o.cdk_out)).find(o.stack_name)
        install(self.mappings)
        topics, queues = sns_metrics.TopicMetrics(), sqs_metrics.QueueMetrics(o.region, o.time_scale)
        sns_delivery = delivery.Delivery(self.enforcer, self.report)
        sns_delivery.listeners.append(topics.outcome)
        delivery.install(sns_delivery)
        self._start_server()  # applies moto_patches: count SQS calls after (around the atomic operations)
        fifo.install()  # FIFO deduplication around moto_patches' atomic send
        sqs_metrics.install(queues)
        sns_metrics.install(topics)
        put_metric_data.install(on_stored=self.alarms.store.add)
        alarm_service.install(self.alarms)
        self.log_ingest = LogIngest(ACCOUNT, o.region, on_error=self.report)
        self.shipper = LogShipper(self.log_ingest.ingest, on_error=self.report).start()
        clients = local_clients(self.endpoint_url, o.region, self.ca_bundle)
        overrides = {} if o.failure_rate is None else {"FAILURE_RATE": str(o.failure_rate)}
        deployer = Deployer(clients, o.region)
        deployment = self.deployment = deployer.deploy(stack, environment_overrides=overrides)
        self.log_ingest.may_write = self.roles.log_writer({f.group: f.name for f in deployment.functions.values()})
        self.stack_reads = StackReads(deployment, stack.template, o.region, events=deployer.events)
        self.names = {m.uuid: m.function.logical_id for m in deployment.mappings}
        self._know_the_stack(stack.template, deployment, deployer.aws_managed)
        if o.paused:  # as if an operator had disabled every mapping right after the deploy
            for mapping in deployment.mappings:
                clients.client("lambda").update_event_source_mapping(UUID=mapping.uuid, Enabled=False)
        self.mappings.start(self._poller)
        self.publisher = MetricsPublisher(
            {NAMESPACE: self.metrics.drain, sqs_metrics.NAMESPACE: queues.collect, sns_metrics.NAMESPACE: topics.drain},
            self.put_service_metrics, on_error=self.report, interval=publish_interval(o.time_scale))
        self.publisher.start()
        self.alarms.start()
        return {"ready": True, "aws_endpoint_url": self.endpoint_url, "ca_bundle": self.ca_bundle,
                "deployment": deployment.to_json()}

    def put_service_metrics(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        """What AWS services publish on their own (AWS/...), straight into this process's CloudWatch."""
        put_metric_data.put_service_metrics(Namespace, MetricData, ACCOUNT, self.options.region)

    def _know_the_stack(self, template: dict[str, Any], deployment: Deployment,
                        aws_managed: dict[str, list[str]]) -> None:
        """Tell the enforcer the stack's roles and resources (for unused grants) and its AWS-managed policies."""
        e, ids = self.enforcer, deployment.physical_ids
        e.extra_managed = {role: tuple(arns) for role, arns in aws_managed.items()}
        kinds = {r["Type"]: [] for r in template["Resources"].values()}
        for logical_id, resource in template["Resources"].items():
            kinds[resource["Type"]].append(ids.get(logical_id, ""))
        e.stack_roles = kinds.get("AWS::IAM::Role", [])
        arn = lambda service, name: f"arn:aws:{service}:{self.options.region}:{ACCOUNT}:{name}"  # noqa: E731
        e.stack_resources = ([arn("sqs", url.rsplit("/", 1)[-1]) for url in kinds.get("AWS::SQS::Queue", [])]
                             + kinds.get("AWS::SNS::Topic", [])
                             + [arn("kms", f"key/{key}") for key in kinds.get("AWS::KMS::Key", [])]
                             + [arn("lambda", f"function:{name}") for name in kinds.get("AWS::Lambda::Function", [])])

    def _start_server(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        moto_patches.apply()
        # Lambda's default account concurrency (1,000), of which 100 stay unreserved: PutFunctionConcurrency
        # beyond that gets Lambda's InvalidParameterValueException
        os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000")
        logging.getLogger("moto").setLevel(logging.ERROR)  # "no CloudFormation support for X": known, handled
        warnings.filterwarnings("ignore", message="Tried to parse AWS::")
        certificates = ensure_certificates(Path(self.options.tls_dir)) if self.options.tls else None
        self.ca_bundle = str(certificates.ca) if certificates else None
        moto = DomainDispatcherApplication(create_backend_app)
        self.server = HttpsServer(self._front(moto), self.options.host, self.options.port,
                                  certificates)
        self.server.start()
        self.endpoint_url = self.server.url

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
        environment = worker_environment(self.endpoint_url, o.region, self.ca_bundle)

        def session() -> dict[str, str]:  # each cold start with a new session of the function's role
            return {**environment, **self.roles.credentials(function.name)}

        def environment_factory() -> ExecutionEnvironment:
            return ExecutionEnvironment(function, zygote=self.zygote, aws_environment=session,
                                        log_path=log,
                                        init_slots=init_slots, init_limit_seconds=o.init_limit_seconds,
                                        observer=self.metrics, log_sink=self.shipper.put if self.shipper else None)

        return QueuePoller(name, settings, queue=QueueAccess(esm.event_source_arn, o.region),
                           environment_factory=environment_factory, time_scale=o.time_scale, on_error=self.report,
                           authorize=self.roles.authorizer(function.name, esm.event_source_arn))

    @property
    def pollers(self) -> dict[str, QueuePoller]:
        """Every running mapping's poller, by the name its counters go by."""
        return {self.names.get(uuid, uuid): poller for uuid, poller in list(self.mappings.pollers.items())}

    def report(self, text: str) -> None:
        self.problems.append(text)
        print(f"local cloud: {text}", file=sys.stderr, flush=True)

    # -- the front: the local cloud's own endpoints; else the gate, then CloudFormation's stack reads or moto --
    def _front(self, moto: Any) -> Any:
        control = Control(self, self.enforcer)

        def reads(environ: dict[str, Any], start_response: Any) -> Any:
            if "/cloudformation/aws4_request" in environ.get("HTTP_AUTHORIZATION", "") and self.stack_reads:
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again if the call is not answered here
                answer = self.stack_reads.answer(body)
                if answer:
                    start_response(answer[0], [("Content-Type", "text/xml"), ("Content-Length", str(len(answer[1])))])
                    return [answer[1]]
            return moto(environ, start_response)

        gate = Gate(reads, self.enforcer)

        def front(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO", "").startswith(PREFIX):
                return control(environ, start_response)
            return gate(environ, start_response)
        return front

    # -- stop -----------------------------------------------------------------------------------
    def stop(self) -> None:
        self.alarms.stop()
        if self.publisher:
            self.publisher.stop()
        self.mappings.stop()
        if self.shipper:
            self.shipper.stop()
        self.zygote.close()
        if self.server:  # its threads hold keep-alive connections: not waited for (the process exits next)
            threading.Thread(target=self.server.stop, daemon=True, name="server-stop").start()


def main(argv: list[str]) -> int:
    options = AwsOptions(**json.loads(argv[1]))
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the local cloud's to handle
    aws = LocalAws(options)
    try:
        with building_what_lasts():
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
    wait_until_set(stopped)
    aws.stop()
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Nothing is left to save: skip freeing a heap of moto objects one by one (seconds after a long run).
    os._exit(code)
