"""Which stack a command operates: its outputs, region and AWS clients, local or deployed.

`--target aws` (the default) reads the outputs of a deployed stack with CloudFormation
`DescribeStacks`, with the user's own credentials and region; the stack name comes from `--stack`,
else the `STACK_NAME` environment variable, else `cdk.json` (`context.wildrydes.stackName`).
`--target local` reads `.local/endpoints.json`, which `make local` writes while the local cloud runs,
and talks to its AWS endpoint with any credentials. Each failure is one clear `OpsError`.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from aws_clients import ClientCache, local_session
from ops.errors import OpsError
from ops.services import Service, discover_services

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS_FILE = ROOT / ".local" / "endpoints.json"
CDK_JSON = ROOT / "cdk.json"
DEFAULT_STACK_NAME = "WildRydesRideCompletion"
TARGETS = ("aws", "local")
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


def default_stack_name(cdk_json: Path = CDK_JSON) -> str:
    """STACK_NAME, else cdk.json's context.wildrydes.stackName, else the app's default."""
    if os.environ.get("STACK_NAME"):
        return os.environ["STACK_NAME"]
    try:
        context = json.loads(cdk_json.read_text()).get("context", {})
    except (OSError, ValueError):
        return DEFAULT_STACK_NAME
    return str(context.get("wildrydes", {}).get("stackName") or DEFAULT_STACK_NAME)


@dataclass
class Target:
    """A stack to operate: where it is and what it exposes. `client(name)` gives a cached boto3 client."""

    kind: str  # "aws" or "local"
    stack_name: str
    region: str
    outputs: dict[str, str]
    session: Any
    endpoint_url: str | None = None  # the local cloud's AWS endpoint; None: AWS itself
    ca_bundle: str | None = None  # the local cloud's CA (its endpoint speaks HTTPS)
    time_scale: float = 1.0  # real seconds per cloud second: the local cloud's TIME_SCALE; 1 on AWS
    _clients: ClientCache | None = field(default=None, repr=False)

    def client(self, name: str, *, pool: int = 32) -> Any:
        if self._clients is None:
            self._clients = ClientCache(self.session, self.endpoint_url, CLIENT_CONFIG, ca_bundle=self.ca_bundle)
        return self._clients.client(name, pool=pool)

    @property
    def services(self) -> list[Service]:
        return discover_services(self.outputs)

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name.lower() == name.lower():
                return service
        known = ", ".join(s.name for s in self.services) or "none"
        raise OpsError(f"no service {name} in the outputs of {self.stack_name} (services: {known})")

    def selected(self, name: str | None) -> list[Service]:
        """The named service, or every service when none is named."""
        return [self.service(name)] if name else self.services

    @property
    def api_url(self) -> str:
        """Where rides are POSTed (the ApiUrl output: the API stage URL with the resource path)."""
        return self.output("ApiUrl")

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError as error:
            raise OpsError(f"the outputs of {self.stack_name} have no {key}") from error

    def api_auth(self) -> Any:
        """An httpx auth signing API requests (SigV4, execute-api) with this target's credentials: the ride
        API is IAM-authorized by default (apiAuthorization "iam"), and a signature does no harm when it is not."""
        from aws_clients.signing import ExecuteApiAuth

        try:
            return ExecuteApiAuth(self.session, self.region)
        except ValueError as error:
            raise OpsError(str(error)) from error

    def describe(self) -> str:
        where = f"local cloud at {self.endpoint_url}" if self.kind == "local" else f"AWS {self.region}"
        return f"{self.stack_name} ({where})"


def local_target(endpoints_file: Path = ENDPOINTS_FILE, *, probe: bool = True) -> Target:
    """The running local cloud, from the endpoints file `make local` writes (and removes on exit)."""
    hint = "start it with `make local` (or pass --target aws for a deployed stack)"
    try:
        endpoints = json.loads(endpoints_file.read_text())
    except FileNotFoundError as error:
        raise OpsError(f"the local cloud is not running (no {_shown(endpoints_file)}): {hint}") from error
    except (OSError, ValueError) as error:
        raise OpsError(f"cannot read {_shown(endpoints_file)} ({error}): restart the local cloud with "
                       "`make local`") from error
    if not isinstance(endpoints, dict) or not endpoints.get("aws_endpoint_url") \
            or not isinstance(endpoints.get("outputs"), dict):
        raise OpsError(f"{_shown(endpoints_file)} has no aws_endpoint_url or outputs: restart `make local`")
    if probe and not _answers(endpoints["aws_endpoint_url"]):
        raise OpsError(f"the local cloud is not running (nothing answers at {endpoints['aws_endpoint_url']}; "
                       f"{_shown(endpoints_file)} is left from an earlier run): {hint}")
    return target_from_endpoints(endpoints)


def target_from_endpoints(endpoints: dict[str, Any]) -> Target:
    """A target for a local cloud described as in .local/endpoints.json (LocalCloud.endpoints())."""
    region = str(endpoints.get("region") or "us-east-1")
    return Target(kind="local", stack_name=str(endpoints.get("stack_name") or default_stack_name()), region=region,
                  outputs={k: str(v) for k, v in endpoints["outputs"].items()},
                  session=local_session(region), endpoint_url=str(endpoints["aws_endpoint_url"]),
                  ca_bundle=str(endpoints["ca_bundle"]) if endpoints.get("ca_bundle") else None,
                  time_scale=float(endpoints.get("time_scale") or 1.0))


def aws_target(stack: str | None = None, *, region: str | None = None, profile: str | None = None) -> Target:
    """A deployed stack, from CloudFormation DescribeStacks with the user's credentials."""
    name = stack or default_stack_name()
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region or os.environ.get("AWS_REGION"))
    except ProfileNotFound as error:
        raise OpsError(f"no AWS profile {profile!r} in your AWS config") from error
    if not session.region_name:
        raise OpsError("no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (or a region in your profile), or pass "
                       "--region")
    if session.get_credentials() is None:
        raise OpsError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                       "(or run `aws sso login`), or use --target local")
    target = Target(kind="aws", stack_name=name, region=session.region_name, outputs={}, session=session,
                    endpoint_url=None)
    try:
        stacks = target.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", "")
        if "does not exist" in message:
            raise OpsError(f"stack {name} is not deployed in {session.region_name}: run `make deploy`, or name "
                           "another with --stack / STACK_NAME") from error
        raise OpsError(f"CloudFormation DescribeStacks {name} in {session.region_name} failed: "
                       f"{error.response.get('Error', {}).get('Code')}: {message}") from error
    except NoCredentialsError as error:
        raise OpsError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY") from error
    except BotoCoreError as error:
        raise OpsError(f"cannot reach CloudFormation in {session.region_name}: {error}") from error
    described = stacks[0]
    target.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    if not target.outputs:
        raise OpsError(f"stack {name} in {session.region_name} has no outputs (status "
                       f"{described.get('StackStatus')}): wait for the deployment, or redeploy with `make deploy`")
    return target


def resolve(target: str = "aws", *, stack: str | None = None, region: str | None = None,
            endpoints_file: Path | None = None) -> Target:
    if target == "local":
        return local_target(endpoints_file or ENDPOINTS_FILE)
    if target == "aws":
        return aws_target(stack, region=region)
    raise OpsError(f"--target must be one of {', '.join(TARGETS)}, not {target!r}")


def _answers(url: str, timeout: float = 1.0) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
