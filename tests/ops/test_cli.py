"""The command layer: help with examples, and one clear line (no traceback) when the local cloud is not running."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from scripts.wildrydes import app
from tests.ops.conftest import assert_exits_cleanly

COMMANDS = [
    ["send", "10"], ["watch", "--once"], ["watch", "--once", "--json"], ["dlq", "list"], ["dlq", "show", "abc"],
    ["dlq", "redrive"], ["rides", "pending"], ["rides", "republish"], ["smoke"], ["reconcile", "rides.jsonl"],
    ["pause", "CustomerAccounting"], ["resume", "CustomerAccounting"], ["mappings"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_each_command_says_the_local_cloud_is_not_running(command: list[str], tmp_path: Path):
    result = CliRunner().invoke(app, [*command, "--target", "local", "--endpoints", str(tmp_path / "endpoints.json")])
    assert_exits_cleanly(result, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the local cloud is not running"), result.output
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["send"], ["watch"], ["dlq", "list"], ["dlq", "show"], ["dlq", "redrive"],
                                     ["rides", "pending"], ["rides", "republish"], ["plan"], ["reconcile"], ["smoke"],
                                     ["pause"], ["resume"], ["mappings"]])
def test_every_command_has_help_with_examples(command: list[str]):
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example" in result.stdout and "--help" in result.stdout


def test_bad_options_are_one_line_errors(tmp_path: Path):
    result = CliRunner().invoke(app, ["send", "0", "--target", "local", "--endpoints", str(tmp_path / "e.json")])
    assert result.exit_code == 2 and result.stderr.strip() == "error: --rides must be at least 1"
    result = CliRunner().invoke(app, ["watch", "--once", "--target", "mars"])
    assert result.exit_code == 2 and result.stderr.strip() == "error: --target must be one of aws, local, not 'mars'"


def test_a_stack_that_is_not_deployed_is_one_line(aws):
    result = CliRunner().invoke(app, ["watch", "--once", "--stack", "Nope"])
    assert_exits_cleanly(result, 2)
    assert result.stderr.strip() == ("error: stack Nope is not deployed in us-east-1: run `make deploy`, or name "
                                     "another with --stack / STACK_NAME")
