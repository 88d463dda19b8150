"""Fixtures for the operations tests: a local cloud per module, and the CLI pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from local.cloud import LocalCloud
from ops.target import Target, local_target
from scripts.wildrydes import app
from tests.local.conftest import start_cloud


@pytest.fixture(scope="module")
def cloud(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """The default app on the local cloud (failure injection off), shared by the tests of a module."""
    running = start_cloud(cloud_assembly, tmp_path_factory.mktemp("logs"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def endpoints(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The endpoints file, as `make local` writes it."""
    path = tmp_path_factory.mktemp("local") / "endpoints.json"
    cloud.write_endpoints(path)
    return path


@pytest.fixture(scope="module")
def target(endpoints: Path) -> Target:
    return local_target(endpoints)


def run_cli(endpoints: Path, *args: str) -> Result:
    """`wildrydes ARGS --target local`, against the module's local cloud."""
    return CliRunner().invoke(app, [*args, "--target", "local", "--endpoints", str(endpoints)])


def assert_exits_cleanly(result: Result, code: int) -> None:
    """The command ended through its own exit with CODE, not through an exception it never caught.

    Under CliRunner an uncaught exception never reaches `result.output` (it lands in `result.exception`),
    so "Traceback" not in the output can never fail: this checks the exception and the exit code instead.
    """
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}; output: {result.output}"
    assert result.exit_code == code, result.output
