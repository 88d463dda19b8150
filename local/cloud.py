"""The local cloud: the synthesized stack on moto, its event source mappings and its API, on 127.0.0.1.

    with LocalCloud(LocalCloudOptions(cdk_out=Path("cdk.out"))) as cloud:
        cloud.api_url, cloud.aws_endpoint_url, cloud.outputs

Two processes share the work, one per core: the AWS process (local/aws_process.py: moto's server, the
deployment, the event source mappings and the consumers' execution environments) and this one (the
API front door and the environments of the functions it invokes). Functions run in environments of
their own (local/runtime.py) and reach moto over HTTP like any client, so the AWS CLI or boto3 can use
the same endpoint with --endpoint-url.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cloud_assembly import ROOT, AssemblyError, changed_since_synth, load_assembly
from local.cloud_controls import CloudControls, LocalCloudError
from local.cloud_options import HOST, READY_TIMEOUT_SECONDS, STOP_SECONDS, LocalCloudOptions, check_port
from local.cloudformation.deployment import Deployment
from local.cloudwatch.publisher import MetricsPublisher, publish_interval
from local.lambda_service.environments import ExecutionEnvironment, FunctionPool, Zygote
from local.lambda_service.metrics import NAMESPACE, LambdaMetrics
from local.logs.shipper import Batch, LogShipper
from local.options import ACCOUNT, AwsOptions, worker_environment

# boto3 (local.clients) and uvicorn (local.apigateway.front_door) are imported once the AWS process is on its
# way: start-up is the two processes' imports side by side, not one after the other.

class LocalCloud(CloudControls):
    def __init__(self, options: LocalCloudOptions) -> None:
        self.options = options
        self.aws: subprocess.Popen[str] | None = None
        self.deployment: Deployment | None = None
        self.pools: dict[str, FunctionPool] = {}
        self.api: Any = None
        self.own_problems: list[str] = []
        self.metrics = LambdaMetrics()
        self.publisher: MetricsPublisher | None = None
        self.shipper: LogShipper | None = None  # the logs of the API and its functions, to the AWS process
        self.zygote = Zygote()
        self.aws_endpoint_url = self.ca_bundle = ""
        self._invoke_decisions: dict[str, tuple[float, tuple[bool, int | None]]] = {}

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        o = self.options
        load_assembly(o.cdk_out).find(o.stack_name)
        stale = changed_since_synth(o.cdk_out)
        if stale and not o.allow_stale:
            names = ", ".join(str(p.relative_to(ROOT)) for p in stale[:5])
            raise AssemblyError(f"{o.cdk_out} is older than {names}: run `make synth` (or allow a stale cdk.out)")
        check_port(o.aws_port, "the local AWS endpoint", "--aws-port / AWS_PORT")
        check_port(o.api_port, "the local API", "--api-port / API_PORT")
        _fresh_logs(o.log_dir)
        try:
            self._spawn_aws()
            from local.clients import local_clients

            self._wait_for_aws()
            self.clients = local_clients(self.aws_endpoint_url, o.region, self.ca_bundle)
            self.shipper = LogShipper(self._ship_logs, on_error=self._problem).start()
            self._start_api()
            self._control("POST", "stack-outputs", self.outputs)  # describe-stacks shows the local API URL
        except BaseException:
            self.stop()
            raise
        threading.Thread(target=self._prewarm, daemon=True, name="prewarm").start()

    def _spawn_aws(self) -> None:
        o = self.options
        options = AwsOptions(cdk_out=str(o.cdk_out.resolve()), host=HOST, port=o.aws_port, region=o.region,
                             stack_name=o.stack_name, time_scale=o.time_scale, failure_rate=o.failure_rate,
                             log_dir=str(o.log_dir), paused=o.paused, init_limit_seconds=o.init_limit_seconds,
                             enforce=o.enforce, tls_dir=str(o.tls_dir), tls=o.tls)
        # Its own session: Ctrl-C in the terminal reaches this process only, which then stops it in order.
        self.aws = subprocess.Popen([sys.executable, "-m", "local.aws_process", json.dumps(asdict(options))],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                    start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})

    def _wait_for_aws(self) -> None:
        answer = self._read_ready()
        if "error" in answer:
            raise LocalCloudError(answer["error"])
        self.aws_endpoint_url = answer["aws_endpoint_url"]
        self.ca_bundle = answer["ca_bundle"] or ""  # "": plain HTTP
        self.deployment = Deployment.from_json(answer["deployment"])
        threading.Thread(target=self._forward_output, daemon=True, name="aws-output").start()

    def _read_ready(self) -> dict[str, Any]:
        assert self.aws is not None and self.aws.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            line = self.aws.stdout.readline()
            if not line:
                code = self.aws.wait()
                raise LocalCloudError(f"the local AWS process exited (code {code}) before it was ready")
            if line.startswith(('{"ready"', '{"error"')):
                return dict(json.loads(line))
            print(line, end="", file=sys.stderr)
        raise LocalCloudError(f"the local AWS process was not ready within {READY_TIMEOUT_SECONDS} s")

    def _forward_output(self) -> None:
        """Whatever the AWS process prints on stdout later (moto's notices) goes to our stderr."""
        stream = self.aws.stdout if self.aws else None
        if stream is None:
            return
        for line in stream:
            print(line, end="", file=sys.stderr)

    def _start_api(self) -> None:
        from local.apigateway.front_door import LocalApi
        from local.apigateway.metrics import NAMESPACE as API_NAMESPACE
        from local.apigateway.metrics import ApiMetrics
        from local.apigateway.throttling import StageThrottle

        o, d = self.options, self.deployment
        assert d is not None
        init_slots = threading.BoundedSemaphore(os.cpu_count() or 2)
        environment = worker_environment(self.aws_endpoint_url, o.region, self.ca_bundle)
        for route in d.routes:
            f = route.function
            if f.logical_id in self.pools:
                continue

            def factory(f: Any = f) -> ExecutionEnvironment:  # each cold start with a session of the function's role
                def session() -> dict[str, str]:
                    return {**environment, **self._control("POST", f"function-credentials/{f.name}")}

                return ExecutionEnvironment(f, zygote=self.zygote, aws_environment=session,
                                            log_path=o.log_dir / f"{f.logical_id}.log", init_slots=init_slots,
                                            init_limit_seconds=o.init_limit_seconds, observer=self.metrics,
                                            log_sink=self.shipper.put if self.shipper else None)

            self.pools[f.logical_id] = FunctionPool(f, size=o.api_environments, factory=factory)
        if d.routes:
            try:
                self.api = LocalApi(d.routes, self.pools, stage=d.stage, host=HOST, port=o.api_port,
                                    log_path=o.log_dir / "api.log", concurrency_limit=o.function_concurrency,
                                    on_throttle=self.metrics.throttled, on_error=self._problem,
                                    invoke_policy=self._invoke_policy, throttle=StageThrottle(d.method_settings),
                                    judge_caller=self._judge_caller, metrics=ApiMetrics(d.api_name, d.stage),
                                    access_log=self._access_log())
            except OSError as error:
                raise LocalCloudError(f"the local API cannot listen on {HOST}:{o.api_port}: "
                                      f"{error.strerror}") from error
            self.api.start()
        sources = {NAMESPACE: self.metrics.drain, **({API_NAMESPACE: self.api.metrics.drain} if self.api else {})}
        self.publisher = MetricsPublisher(sources, self._put_service_metrics, on_error=self._problem,
                                          interval=publish_interval(o.time_scale))
        self.publisher.start()

    def _put_service_metrics(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        """What this process's services publish (AWS/...), through the AWS process (callers may not)."""
        answer = self._control("POST", "metrics", {"Namespace": Namespace, "MetricData": [
            {**d, "Timestamp": d["Timestamp"].isoformat()} for d in MetricData]})
        if "result" not in answer:
            raise LocalCloudError(f"the local CloudWatch refused {Namespace} metrics: {answer.get('message')}")

    def _access_log(self) -> Any:
        """The stage's access log (None if it has none), written through this process's shipper."""
        from local.apigateway.access_log import AccessLog

        d = self.deployment
        if d is None or not d.access_log_group or self.shipper is None:
            return None
        return AccessLog(d.access_log_group, d.access_log_format, self.shipper.put, stage=d.stage,
                         api_id=d.rest_api_id, account=ACCOUNT)

    def _ship_logs(self, batch: Batch) -> None:
        """One POST per flush to the AWS process, which stores them (local/logs/ingest.py)."""
        answer = self._control("POST", "logs", batch)
        if not isinstance(answer, dict) or "events" not in answer:
            raise LocalCloudError(f"the AWS process did not take the logs: {answer}")

    def _prewarm(self) -> None:
        """One environment per API function, after ready: the first request finds it warm."""
        for pool in list(self.pools.values()):
            pool.prewarm()

    def stop(self) -> None:
        if self.publisher:
            self.publisher.stop()
        for pool in self.pools.values():
            pool.close()
        self.zygote.close()
        if self.api:
            self.api.stop()
            self.api = None
        if self.shipper:  # the last lines, while the AWS process still takes them
            shipper, self.shipper = self.shipper, None
            shipper.stop()
        if self.aws:
            aws, self.aws = self.aws, None
            if aws.stdin:
                aws.stdin.close()  # the AWS process stops when its stdin closes
            try:
                aws.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                aws.kill()
                aws.wait()

    def _problem(self, text: str) -> None:
        if text in self.own_problems:
            return
        self.own_problems.append(text)
        print(f"local cloud: {text}", file=sys.stderr, flush=True)

    # -- what users and tests look at --------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.api.url if self.api else ""

    @property
    def outputs(self) -> dict[str, str]:
        """Stack outputs, with the API Gateway URL pointing at the local API."""
        assert self.deployment is not None
        d = self.deployment
        local = {f"https://sqs.{d.region}.amazonaws.com": self.aws_endpoint_url}
        if d.rest_api_id:
            local[f"https://{d.rest_api_id}.execute-api.{d.region}.amazonaws.com/{d.stage}"] = self.api_url
        outputs = {}
        for key, value in d.outputs.items():
            for remote, here in local.items():
                value = value.replace(remote, here)
            outputs[key] = value
        return outputs

    def endpoints(self) -> dict[str, Any]:
        return {"api_url": self.api_url, "aws_endpoint_url": self.aws_endpoint_url, "region": self.options.region,
                "stack_name": self.deployment.stack_name if self.deployment else None, "outputs": self.outputs,
                "ca_bundle": self.ca_bundle, "logs": str(self.options.log_dir),
                "time_scale": self.options.time_scale}  # how fast its clock runs: drills scale their waits by it

    def _invoke_policy(self, route: Any) -> tuple[bool, int | None]:
        """Whether API Gateway may invoke the route's function (its Lambda permission), and the function's
        reserved concurrency (None: none), asked at most once a second per route: a permission removed or a
        concurrency put at run time takes effect within a second."""
        d = self.deployment
        assert d is not None
        now = time.monotonic()
        cached = self._invoke_decisions.get(route.path)
        if cached and now - cached[0] < 1.0:
            return cached[1]
        source = self.method_arn(route)
        answer = self._control("POST", "authorize", {
            "service": "apigateway.amazonaws.com", "action": "lambda:InvokeFunction", "source_arn": source,
            "resource": f"arn:aws:lambda:{d.region}:{ACCOUNT}:function:{route.function.name}"})
        reserved = self.clients.client("lambda").get_function_concurrency(FunctionName=route.function.name).get(
            "ReservedConcurrentExecutions")
        policy = (bool(answer["allowed"]), None if reserved is None else int(reserved))
        self._invoke_decisions[route.path] = (now, policy)
        return policy

    @property
    def signed_api(self) -> bool:
        """Whether any API method is IAM-authorized (callers sign with SigV4)."""
        return bool(self.deployment and any(r.authorization == "AWS_IAM" for r in self.deployment.routes))

    def method_arn(self, route: Any) -> str:
        d = self.deployment
        assert d is not None
        return f"arn:aws:execute-api:{d.region}:{ACCOUNT}:{d.rest_api_id}/{d.stage}/{route.method}{route.path}"

    def _judge_caller(self, route: Any, asked: dict[str, Any]) -> dict[str, Any]:
        """The caller of an AWS_IAM method, judged in the AWS process (local/iam/execute_api.py)."""
        return dict(self._control("POST", "execute-api", {**asked, "method_arn": self.method_arn(route)}))

    def write_endpoints(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.endpoints(), indent=2) + "\n")
        temporary.replace(path)  # readers never see half a file


def _fresh_logs(log_dir: Path) -> None:
    """Each run's function logs start empty (they used to pile up across runs and test runs)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    for log in log_dir.glob("*.log"):
        log.unlink()
