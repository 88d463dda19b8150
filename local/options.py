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
    enforce: bool = True  # IAM enforcement (ENFORCE_IAM=0 turns it off: decisions are only reported)
    tls_dir: str = ".local/tls"  # the local CA and the endpoint's certificate
    tls: bool = True  # False: plain HTTP, for benchmarks that measure what TLS costs (every queue and topic
    # policy here then refuses the calls it guards, unless enforcement is off too)


def worker_environment(endpoint_url: str, region: str, ca_bundle: str | None) -> dict[str, str]:
    """What every local execution environment gets besides the function's own variables and credentials
    (the credentials are the function's role's: local/lambda_service/roles.py)."""
    environment = {**endpoint_environment(endpoint_url, region, ca_bundle=ca_bundle),
                   "POWERTOOLS_TRACE_DISABLED": "true"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        environment.pop(name, None)
    return environment
