"""app.py as the CDK CLI runs it: a clean synth on the project's Node, a clear error on bad settings."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

from stacks.app_factory import project_context
from tests.conftest import ROOT


def run_app(outdir: Path, context: dict | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CDK_OUTDIR": str(outdir)}
    if context is not None:
        environment["CDK_CONTEXT_JSON"] = json.dumps(context)
    return subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=environment, capture_output=True, text=True,
                          check=False, timeout=300)


def test_synth_is_clean_on_the_project_node(tmp_path: Path):
    result = run_app(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "end-of-life" not in result.stdout + result.stderr  # Node 22 from package.json, not the machine's 20
    assert (tmp_path / "WildRydesRideCompletion.template.json").is_file()


def test_bad_settings_stop_synth_with_every_problem_named(tmp_path: Path):
    settings = copy.deepcopy(project_context()["wildrydes"])
    settings["subscribers"][2].update(maxConcurrency=1, batchSize=100, maxBatchingWindowSeconds=0)
    result = run_app(tmp_path, {"wildrydes": settings})
    assert result.returncode == 1
    assert "subscribers.ExtraordinaryRides.maxConcurrency: must be between 2 and 1000, got 1" in result.stderr
    assert "subscribers.ExtraordinaryRides.batchSize: 100 is over 10" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "manifest.json").exists()



def test_a_bad_stack_name_from_the_command_line_is_a_clear_error(tmp_path: Path):
    # `make deploy STACK_NAME=...` passes `-c stackName=...`; the rehearsal (tests/deploy) deploys one.
    result = run_app(tmp_path, {**project_context(), "stackName": "pr_42!"})
    assert result.returncode == 1
    assert "stackName: not a valid CloudFormation stack name: 'pr_42!'" in result.stderr
    assert "Traceback" not in result.stderr
