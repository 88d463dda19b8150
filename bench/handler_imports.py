"""Handler import time per function: what Lambda's init phase costs (billed since August 2025).

    python -m bench.handler_imports [--runs 7]

For every function in the synthesized template, a fresh interpreter imports its handler module from
the code asset in cdk.out with the function's environment and the variables Lambda's runtime sets
(LAMBDA_TASK_ROOT, the X-Ray trace header: Powertools' Tracer is on only then, as deployed), `runs` times;
the median, and the share of it spent importing the X-Ray SDK (python -X importtime), go to
bench/results/handler_imports.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.record import write_result
from cloud_assembly import load_assembly

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "handler_imports.json"
# What Lambda's Python runtime sets besides the function's own variables (the code directory comes on top).
LAMBDA_RUNTIME = {"AWS_LAMBDA_FUNCTION_NAME": "handler-imports", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                  "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                  "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
MEASURE = "import time, importlib; t = time.perf_counter(); importlib.import_module({module!r}); " \
          "print(time.perf_counter() - t)"


def functions(cdk_out: Path) -> dict[str, tuple[str, Path, dict[str, str]]]:
    """Function logical id -> (handler module, code directory, environment) from the template."""
    stack = load_assembly(cdk_out).stack
    found = {}
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        properties = resource["Properties"]
        asset = stack.asset_for_key(properties["Code"]["S3Key"])
        assert asset is not None
        environment = {k: v if isinstance(v, str) else "placeholder"
                       for k, v in properties.get("Environment", {}).get("Variables", {}).items()}
        found[logical_id] = (properties["Handler"].rpartition(".")[0], asset.source, environment)
    return found


def lambda_environment(code_dir: Path, variables: dict[str, str]) -> dict[str, str]:
    """A function's environment as Lambda's runtime gives it, around its code directory."""
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(code_dir), "LAMBDA_TASK_ROOT": str(code_dir),
            **LAMBDA_RUNTIME, **variables}


def xray_seconds(module: str, code_dir: Path, environment: dict[str, str]) -> float:
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=code_dir,
                            env=environment, capture_output=True, text=True, check=True)
    cumulative = [int(fields[1]) for fields in (line.split("|") for line in result.stderr.splitlines())
                  if len(fields) == 3 and fields[2].strip() == "aws_xray_sdk.core"]
    return max(cumulative, default=0) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = {}
    for logical_id, (module, code_dir, variables) in functions(args.cdk_out).items():
        environment = lambda_environment(code_dir, variables)
        seconds = [float(subprocess.run([sys.executable, "-c", MEASURE.format(module=module)], cwd=code_dir,
                                        env=environment, capture_output=True, text=True, check=True).stdout)
                   for _ in range(args.runs)]
        rows[logical_id] = {"handler": module, "median_seconds": round(statistics.median(seconds), 3),
                            "xray_sdk_seconds": round(xray_seconds(module, code_dir, environment), 3)}
        print(f"{logical_id:55} {rows[logical_id]}", flush=True)
    write_result(args.output, "handler import time per function (fresh interpreter, tracing on as deployed)",
                 f"python -m bench.handler_imports --runs {args.runs}", {"functions": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
