"""Fixtures for end-to-end tests on the local cloud (moto server on 127.0.0.1, worker processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aws_clients import local_session
from aws_clients.signing import SIGNED, ExecuteApiAuth
from local.cloud import LocalCloud, LocalCloudOptions

WAIT_SECONDS = 30.0


def wait_for(predicate: Callable[[], Any], timeout: float = WAIT_SECONDS, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


REGION = "us-east-1"  # the local cloud's default
# The ride API is IAM-authorized: clients sign. Keys the local cloud did not issue act as the account's root.
ROOT_SIGNER = ExecuteApiAuth(local_session(REGION), REGION)


def signature(url: str, body: bytes = b"", method: str = "POST", auth: httpx.Auth = ROOT_SIGNER) -> dict[str, str]:
    """The SigV4 headers of a request, for tests that write their requests byte by byte."""
    request = httpx.Request(method, url, content=body)
    next(auth.sync_auth_flow(request))
    return {name: request.headers[name] for name in SIGNED if name in request.headers}


def post_ride(url: str, body: Any, headers: dict[str, str] | None = None,
              auth: httpx.Auth | None = ROOT_SIGNER) -> tuple[int, dict[str, Any]]:
    """POST a ride (signed as the account's root unless told otherwise; `auth` None: unsigned)."""
    data = (body if isinstance(body, str) else json.dumps(body)).encode()
    response = httpx.post(url, content=data, headers={"Content-Type": "application/json", **(headers or {})},
                          auth=auth, timeout=30)
    return response.status_code, response.json()


AWS_CLI = Path(sys.executable).with_name("aws")  # awscli, pinned in requirements-dev.txt


def aws_cli(cloud: LocalCloud, *args: str) -> Any:
    """`aws ARGS --endpoint-url <the local cloud> --output json`, the real AWS CLI; its parsed answer."""
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                   "AWS_DEFAULT_REGION": cloud.options.region, "AWS_PAGER": "", "AWS_CA_BUNDLE": cloud.ca_bundle}
    done = subprocess.run([str(AWS_CLI), *args, "--endpoint-url", cloud.aws_endpoint_url, "--output", "json"],
                          capture_output=True, text=True, env=environment, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout) if done.stdout.strip() else None


def start_cloud(cdk_out: Path, log_dir: Path, **options: Any) -> LocalCloud:
    cloud = LocalCloud(LocalCloudOptions(cdk_out=cdk_out, api_port=0, aws_port=0, time_scale=0.01,
                                         log_dir=log_dir, **options))
    cloud.start()
    return cloud


@pytest.fixture(scope="module")
def local_cloud(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """The default app on the local cloud, failure injection off."""
    cloud = start_cloud(cloud_assembly, tmp_path_factory.mktemp("logs"))
    yield cloud
    cloud.stop()


def effect_ids(cloud: LocalCloud, service: str) -> set[str]:
    table = cloud.outputs[f"{service}TableName"]
    items = cloud.clients.client("dynamodb").scan(TableName=table)["Items"]
    return {item["rideId"]["S"] for item in items}


def messages_kept(cloud: LocalCloud, service: str) -> int:
    """Messages of a service that are still somewhere: waiting, in flight, or in its DLQ."""
    sqs = cloud.clients.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    queue = sqs.get_queue_attributes(QueueUrl=cloud.outputs[f"{service}QueueUrl"], AttributeNames=names)
    dlq = sqs.get_queue_attributes(QueueUrl=cloud.outputs[f"{service}DlqUrl"], AttributeNames=names)
    return sum(int(found["Attributes"][name]) for found in (queue, dlq) for name in names)
