"""Fixtures shared by every test: fake AWS credentials, the synthesized app, moto."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"

# Fake credentials before anything creates a client: no test may reach a real account.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "WildRydesTest",
    "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_DEV": "false",
})
# jsii needs a supported Node; the Makefile puts node_modules/.bin first, do the same for bare pytest.
_node_bin = ROOT / "node_modules" / ".bin"
if _node_bin.is_dir() and str(_node_bin) not in os.environ.get("PATH", ""):
    os.environ["PATH"] = f"{_node_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `long` (tens of seconds each) first, the rest in their order: `make test` hands each
    worker a file at a time, and a long file handed out last would run alone while the other workers idle."""
    long_files = {item.path for item in items if item.get_closest_marker("long")}
    items.sort(key=lambda item: item.path not in long_files)


def synthesize(outdir: Path, overrides: dict[str, Any] | None = None) -> Path:
    """Synthesize the app (with cdk-nag) into outdir; return the stack's template path."""
    from stacks.app_factory import build_app

    app, stack = build_app(overrides=overrides, outdir=str(outdir))
    app.synth()
    return outdir / f"{stack.stack_name}.template.json"


@pytest.fixture(scope="session")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default app, synthesized once per session (what `make synth` writes to cdk.out)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    synthesize(outdir)
    return outdir


@pytest.fixture(scope="session")
def template_json(cloud_assembly: Path) -> dict[str, Any]:
    from stacks.app_factory import project_context
    from stacks.config import load_settings

    name = load_settings(project_context()["wildrydes"]).stack_name
    return json.loads((cloud_assembly / f"{name}.template.json").read_text())


@pytest.fixture
def aws() -> Iterator[None]:
    """moto for every AWS service, and fresh cached clients in the Lambda code."""
    from moto import mock_aws

    from shared import aws as lambda_aws

    with mock_aws():
        lambda_aws.reset()
        yield
    lambda_aws.reset()


@pytest.fixture
def moto_as_the_local_cloud_runs_it() -> Iterator[None]:
    """moto with the local cloud's fixes (local/moto_patches.py) for the test, then as it was before.

    Tests whose functions write from several threads need them: moto as it ships rolls a cancelled
    DynamoDB transaction back by restoring whole tables, which erases what other threads wrote meanwhile.
    """
    from local import moto_patches

    was_applied = moto_patches.applied()
    moto_patches.apply()
    yield
    if not was_applied:
        moto_patches.remove()
