"""What the local cloud and the process that hosts its AWS agree on: the options that process runs with,
and the environment every execution environment gets. Light on purpose: the local cloud imports it
before it starts that process, and nothing here may import moto."""

from __future__ import annotations

from dataclasses import dataclass

from aws_clients.credentials import endpoint_environment

INIT_LIMIT_SECONDS = 10.0  # Lambda's limit on the init phase
ACCOUNT = "123456789012"  # the local cloud's one account (moto's default)


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
    return {**endpoint_environment(endpoint_url, region), "POWERTOOLS_TRACE_DISABLED": "true"}
