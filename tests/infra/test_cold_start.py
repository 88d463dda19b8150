"""What a cold start imports: each function's handler, in a fresh interpreter with its environment from
the synthesized template and tracing on as on Lambda, patches the AWS SDK for X-Ray and pays for
nothing its code never calls (bench/handler_imports.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.handler_imports import functions, lambda_environment

PROBE = """
import importlib, json, sys
importlib.import_module({module!r})
from aws_xray_sdk.core import patcher
unused = ("httpx", "requests", "sqlalchemy", "click", "rich")
print(json.dumps({{"patched": sorted(patcher._PATCHED_MODULES),
                  "unused": sorted(m for m in unused if m in sys.modules)}}))
"""

def cold_start(module: str, code_dir: Path, variables: dict[str, str]) -> dict[str, list[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=code_dir,
                            env=lambda_environment(code_dir, variables),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_every_function_is_found(cloud_assembly: Path):
    assert len(functions(cloud_assembly)) == 4  # the producer and three consumers: else the checks below see less


@pytest.mark.parametrize("index", range(4))
def test_a_cold_start_traces_the_aws_sdk_and_imports_nothing_it_never_calls(cloud_assembly: Path, index: int):
    module, code_dir, variables = sorted(functions(cloud_assembly).values())[index]
    found = cold_start(module, code_dir, variables)
    assert "botocore" in found["patched"], found  # X-Ray subsegments for every AWS call, as deployed
    assert found["unused"] == [], found  # Powertools' default patches every library installed (httpx: ~120 ms)
