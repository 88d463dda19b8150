"""`make local`: run the local cloud in the foreground until Ctrl-C or SIGTERM.

Writes .local/endpoints.json once ready: {"api_url", "aws_endpoint_url", "ca_bundle", "region", "outputs", ...}.
IAM is enforced as on AWS; `ENFORCE_IAM=0` turns it off (refusals are then printed, not applied).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cloud_assembly import ROOT, AssemblyError
from local.cloud import LocalCloud, LocalCloudError
from local.cloud_options import (
    DEFAULT_API_ENVIRONMENTS,
    DEFAULT_API_PORT,
    DEFAULT_AWS_PORT,
    DEFAULT_FUNCTION_CONCURRENCY,
    LocalCloudOptions,
)
from local.cloudformation.deployment import DeployError
from local.lambda_service.invocations import InvocationError
from local.process_life import building_what_lasts, wait_until_set

SAMPLE_RIDE = {"from": "Berlin", "to": "Munich", "duration": 480, "distance": 600, "customer": "cmr", "fare": 256.5}
ENDPOINTS_FILE = ROOT / ".local" / "endpoints.json"
STARTUP_ERRORS = (AssemblyError, LocalCloudError, DeployError, InvocationError)


def add_cloud_arguments(parser: argparse.ArgumentParser, *, api_port: int, aws_port: int) -> None:
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out", help="synthesized app (default: cdk.out)")
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("API_PORT", api_port)),
                        help=f"local API port, 0 for any free one (env API_PORT, default {api_port})")
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", aws_port)),
                        help=f"local AWS endpoint port, 0 for any free one (env AWS_PORT, default {aws_port})")
    parser.add_argument("--function-concurrency", type=int, default=DEFAULT_FUNCTION_CONCURRENCY,
                        help="concurrency limit of each function the API invokes; requests beyond it are throttled "
                             "(500, as API Gateway answers a Lambda throttle). Default "
                             f"{DEFAULT_FUNCTION_CONCURRENCY}, Lambda's default; a new account may have 10")
    parser.add_argument("--api-environments", type=int, default=DEFAULT_API_ENVIRONMENTS,
                        help="local execution environments (processes) per function the API invokes; requests "
                             f"beyond them wait for a free one (default {DEFAULT_API_ENVIRONMENTS})")
    parser.add_argument("--allow-stale", action="store_true", help="run even if cdk.out is older than the code")
    parser.add_argument("--plain-http", action="store_true",
                        help="serve the AWS endpoint over plain HTTP, to measure what TLS costs (the stack's "
                             "TLS-only policies then refuse what they guard unless ENFORCE_IAM=0)")


def enforcement_from_environment() -> bool:
    """ENFORCE_IAM=0 (or false, no, off) turns IAM enforcement off; anything else, or nothing, keeps it on."""
    return os.environ.get("ENFORCE_IAM", "1").strip().lower() not in ("0", "false", "no", "off")


def options_from_arguments(args: argparse.Namespace, **options: Any) -> LocalCloudOptions:
    options.setdefault("enforce", enforcement_from_environment())
    options.setdefault("tls", not getattr(args, "plain_http", False))
    return LocalCloudOptions(cdk_out=args.cdk_out, api_port=args.api_port, aws_port=args.aws_port,
                             time_scale=args.time_scale, failure_rate=args.failure_rate,
                             allow_stale=args.allow_stale, function_concurrency=args.function_concurrency,
                             api_environments=args.api_environments, **options)


def start_from_arguments(args: argparse.Namespace, **options: Any) -> LocalCloud | None:
    """Start the local cloud as the command line says; None (with the reason on stderr) if it cannot."""
    cloud = LocalCloud(options_from_arguments(args, **options))
    try:
        cloud.start()
    except STARTUP_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    return cloud


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_cloud_arguments(parser, api_port=DEFAULT_API_PORT, aws_port=DEFAULT_AWS_PORT)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="failed records return after visibility timeout x this (default 1: as deployed)")
    parser.add_argument("--failure-rate", type=float, default=None,
                        help="failure injection: share of records each consumer fails (default: off, as deployed)")
    parser.add_argument("--endpoints-file", type=Path, default=ENDPOINTS_FILE)
    args = parser.parse_args(argv)
    if args.failure_rate is not None and not 0 <= args.failure_rate <= 1:
        parser.error("--failure-rate must be from 0 to 1")
    if args.function_concurrency < 1 or args.api_environments < 1:
        parser.error("--function-concurrency and --api-environments must be at least 1")

    # From here on Ctrl-C and SIGTERM only ask to stop: a signal during start-up lets start-up finish
    # (about a second), then stops in order, instead of tearing a half-started cloud down with a traceback.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    started = time.monotonic()
    with building_what_lasts():
        cloud = start_from_arguments(args)
    if cloud is None:
        return 2
    try:
        if not stop.is_set():
            cloud.write_endpoints(args.endpoints_file)
            print(f"Ready in {time.monotonic() - started:.1f} s.")
            print(f"API:          {cloud.api_url}")
            print(f"AWS endpoint: {cloud.aws_endpoint_url}   (region {cloud.options.region}, "
                  f"{'HTTPS' if cloud.ca_bundle else 'plain HTTP'}; any key acts as the account's root)")
            print(f"  export AWS_ENDPOINT_URL={cloud.aws_endpoint_url}"
                  + (f" AWS_CA_BUNDLE={cloud.ca_bundle}" if cloud.ca_bundle else ""))
            if not cloud.options.enforce:
                print("WARNING: ENFORCE_IAM=0: IAM is NOT enforced. Refusals AWS would give are only printed; "
                      "nothing this run shows proves a permission.")
            print(f"Function logs: {cloud.options.log_dir}/")
            print("Stack outputs:")
            for key, value in cloud.outputs.items():
                print(f"  {key:40} {value}")
            print(f"Endpoints written to {args.endpoints_file}. Try:")
            print(f"  curl -s -XPOST {cloud.outputs.get('ApiUrl', cloud.api_url)} -d '{json.dumps(SAMPLE_RIDE)}'"
                  + (f" --aws-sigv4 aws:amz:{cloud.options.region}:execute-api --user local:local"
                     if cloud.signed_api else ""))
            print("Ctrl-C stops.", flush=True)
        wait_until_set(stop)  # whichever thread the kernel gives Ctrl-C to
    finally:
        print("stopping...", flush=True)
        cloud.stop()
        args.endpoints_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # everything is stopped and the endpoints file removed: skip freeing the heap one by one
