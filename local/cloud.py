"""The local cloud: moto as a server on 127.0.0.1, the synthesized stack deployed into it, local
pollers for the event source mappings, and a local API Gateway.

    with LocalCloud(LocalCloudOptions(cdk_out=Path("cdk.out"))) as cloud:
        cloud.api_url, cloud.aws_endpoint_url, cloud.outputs

Functions run in worker processes (local/runtime.py), which reach moto over HTTP like any client:
so moto always runs as a server here, and the AWS CLI or boto3 can use it with --endpoint-url.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import sys
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.api import LocalApi
from local.assembly import ROOT, AssemblyError, load_stacks, stale_inputs
from local.deploy import Deployer, Deployment
from local.pollers import QueuePoller
from local.runtime import EnvironmentPool, ExecutionEnvironment

DEFAULT_API_PORT = 3000
DEFAULT_AWS_PORT = 5050
HOST = "127.0.0.1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


class LocalCloudError(RuntimeError):
    """A clear reason the local cloud cannot start."""


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
    paused: bool = False  # start pollers paused (tests that need a whole batch in the queue first)
    stack_name: str | None = None


def _check_port(port: int, what: str, option: str) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise LocalCloudError(f"port {port} on {HOST} ({what}) is in use: stop what holds it, or choose "
                                      f"another with {option}") from error
            raise


class Clients:
    """boto3 clients for the local moto server."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url, self.region = endpoint_url, region
        self.session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                             region_name=region)
        self.config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
        self._clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self.session.client(name, endpoint_url=self.endpoint_url, config=self.config)
        return self._clients[name]


class LocalCloud:
    def __init__(self, options: LocalCloudOptions) -> None:
        self.options = options
        self.server: Any = None
        self.deployment: Deployment | None = None
        self.pollers: list[QueuePoller] = []
        self.pools: dict[str, EnvironmentPool] = {}
        self.api: LocalApi | None = None
        self.errors: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        o = self.options
        stacks = load_stacks(o.cdk_out)
        stale = stale_inputs(o.cdk_out)
        if stale and not o.allow_stale:
            names = ", ".join(str(p.relative_to(ROOT)) for p in stale[:5])
            raise AssemblyError(f"{o.cdk_out} is older than {names}: run `make synth` (or allow a stale cdk.out)")
        stack = next((s for s in stacks if o.stack_name in (None, s.name)), None)
        if stack is None:
            raise AssemblyError(f"no stack {o.stack_name} in {o.cdk_out}")
        _check_port(o.aws_port, "the local AWS endpoint", "--aws-port / AWS_PORT")
        _check_port(o.api_port, "the local API", "--api-port / API_PORT")
        try:
            self._start_moto()
            self.clients = Clients(self.aws_endpoint_url, o.region)
            overrides = {} if o.failure_rate is None else {"FAILURE_RATE": str(o.failure_rate)}
            self.deployment = Deployer(self.clients, o.region).deploy(stack, environment_overrides=overrides)
            self._start_functions()
        except BaseException:
            self.stop()
            raise

    def _start_moto(self) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        from local import moto_patches

        moto_patches.apply()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        logging.getLogger("moto").setLevel(logging.ERROR)  # "no CloudFormation support for X": known, handled
        warnings.filterwarnings("ignore", message="Tried to parse AWS::", module="moto")

        self.server = ThreadedMotoServer(ip_address=HOST, port=self.options.aws_port, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.aws_endpoint_url = f"http://{host}:{port}"
        # moto's state is per process: start from nothing, whatever ran here before.
        urllib.request.urlopen(urllib.request.Request(f"{self.aws_endpoint_url}/moto-api/reset", method="POST"))

    @property
    def worker_environment(self) -> dict[str, str]:
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.aws_endpoint_url, "AWS_REGION": self.options.region,
                "AWS_DEFAULT_REGION": self.options.region, "POWERTOOLS_TRACE_DISABLED": "true"}

    def _start_functions(self) -> None:
        o, d = self.options, self.deployment
        assert d is not None
        for mapping in d.mappings:
            log = o.log_dir / f"{mapping.function.logical_id}.log"
            environments = [ExecutionEnvironment(mapping.function, aws_environment=self.worker_environment,
                                                 log_path=log) for _ in range(mapping.max_concurrency)]
            poller = QueuePoller(mapping, sqs=self.clients.client("sqs"), region=o.region, environments=environments,
                                 time_scale=o.time_scale, on_error=self._report_error)
            self.pollers.append(poller)
        for route in d.routes:
            self.pools.setdefault(route.function.logical_id, EnvironmentPool(
                route.function, aws_environment=self.worker_environment,
                log_path=o.log_dir / f"{route.function.logical_id}.log"))
        if d.routes:
            self.api = LocalApi(d.routes, self.pools, stage=d.stage, host=HOST, port=o.api_port)
            self.api.start()
        for poller in self.pollers:
            poller.start(paused=o.paused)

    def resume(self) -> None:
        for poller in self.pollers:
            poller.resume()

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()
        for pool in self.pools.values():
            pool.stop()
        if self.api:
            self.api.stop()
            self.api = None
        if self.server:
            self.server.stop()
            self.server = None

    def _report_error(self, text: str) -> None:
        self.errors.append(text)
        print(f"local cloud: {text}", file=sys.stderr)

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
                "logs": str(self.options.log_dir)}

    def poller(self, service: str) -> QueuePoller:
        """The poller whose function's logical id starts with the service name (e.g. "CustomerAccounting")."""
        [found] = [p for p in self.pollers if p.name.startswith(service)]
        return found

    def write_endpoints(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.endpoints(), indent=2) + "\n")
