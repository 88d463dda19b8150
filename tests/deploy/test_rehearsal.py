"""`make rehearse`: `make deploy` and `make destroy` with the real CDK CLI against moto, checked.

One rehearsal per run (about 40 s here: two synths through the CLI, bootstrap, deploy, destroy), as
a subprocess, so its moto and its changes to moto stay out of this process. Each test reads its report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)

STACK = "WildRydesRehearsal"  # not cdk.json's stackName: the STACK_NAME path is part of what is rehearsed


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    report = tmp_path_factory.mktemp("rehearsal") / "report.json"
    result = subprocess.run([sys.executable, "-m", "scripts.rehearse", "--stack-name", STACK, "--report", str(report)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert report.is_file(), result.stdout + result.stderr
    found = json.loads(report.read_text())
    found["exit_code"], found["printed"] = result.returncode, result.stdout + result.stderr
    return found


def step(rehearsal: dict[str, Any], target: str) -> dict[str, Any]:
    [found] = [s for s in rehearsal["steps"] if s["command"].startswith(f"make --no-print-directory {target} ")]
    return found


def test_the_rehearsal_deploys_and_destroys_the_stack(rehearsal):
    assert rehearsal["exit_code"] == 0 and rehearsal["problems"] == [], rehearsal["printed"]
    assert rehearsal["status_after_deploy"] == "CREATE_COMPLETE"
    assert rehearsal["status_after_destroy"] == "gone"
    # kept on purpose: the five tables (rides, three effect tables, accounts) and the account's API Gateway logging role
    assert len(rehearsal["kept_after_destroy"]) == 6, rehearsal["kept_after_destroy"]


def test_the_deploy_went_the_users_way(rehearsal):
    deploy = step(rehearsal, "deploy")["output"]
    assert f"-c stackName={STACK}" in deploy  # make deploy STACK_NAME=...
    assert "Preflight of stack WildRydesRehearsal" in deploy and "0 failed" in deploy
    assert "Environment aws://123456789012/us-east-1 bootstrapped" in deploy
    assert "--parameters PowertoolsLayerParameter=/wildrydes/rehearsal/powertools-layer" in deploy
    # a new Powertools pin reaches an existing stack: no parameter keeps its previous value
    assert "--no-previous-parameters" in deploy
    assert "Published WildRydesRehearsal Template" in deploy and "creating CloudFormation changeset" in deploy
    assert f"{STACK}.ApiUrl = https://" in deploy and deploy.count(f"{STACK}.") >= len(rehearsal["outputs"])


def test_the_outputs_resolve(rehearsal):
    outputs = rehearsal["outputs"]
    assert outputs["ApiUrl"].endswith(".execute-api.us-east-1.amazonaws.com/prod/submit-ride-completion")
    assert outputs["RideCompletionTopicArn"].startswith(f"arn:aws:sns:us-east-1:123456789012:{STACK}-")
    assert {"CustomerNotificationQueueUrl", "ExtraordinaryRidesTableName", "AlarmTopicArn"} <= set(outputs)


def test_synth_prints_no_feature_flag_notice(rehearsal):
    # cdk.json sets every flag the CDK recommends; the CLI printed "78 feature flags are not configured" before
    for target in ("deploy", "destroy"):
        output = step(rehearsal, target)["output"]
        assert "cdk synth --quiet" in output
        assert "feature flags" not in output.lower(), output
