"""make review BASE=...: what a change to cdk.json does, from two real synths of temporary commits.

Each BASE run costs two synths (HEAD's and BASE's, side by side), so these tests are few: a batch size
change (an in-place update: STRICT passes) and a subscriber rename (its table and queues replaced:
STRICT fails), plus the clear errors for an unknown ref and a ref that does not synthesize.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloud_assembly import SYNTH_INPUTS
from review.changes import interpret_diff, run_cfn_diff
from review.contract import ContractChanges
from review.run import Outcome, ReviewOptions, run_review
from review.tools import ROOT, Tools
from scripts.review import app
from tests.review.conftest import find

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)

COPIED = (*SYNTH_INPUTS, ".cfnlintrc.yaml", "checkov-skips.yaml", ".gitignore")
GIT = ("git", "-c", "user.name=review-test", "-c", "user.email=review-test@local", "-c", "commit.gpgsign=false")


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def edit_config(repo: Path, change) -> None:
    path = repo / "cdk.json"
    config = json.loads(path.read_text())
    change(config["context"]["wildrydes"]["subscribers"])
    path.write_text(json.dumps(config, indent=2) + "\n")


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding a copy of this project's synth inputs, committed once."""
    repo = tmp_path_factory.mktemp("project")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    commit_all(repo, "base")
    return repo


@pytest.fixture(scope="module")
def batch_change(repo: Path) -> Outcome:
    edit_config(repo, lambda subscribers: subscribers[0].update(batchSize=5))
    commit_all(repo, "CustomerNotification takes batches of 5")
    return run_review(ReviewOptions(project=repo, base="HEAD~1", strict=True))


@pytest.fixture(scope="module")
def rename(repo: Path, batch_change: Outcome) -> Outcome:
    edit_config(repo, lambda subscribers: subscribers[1].update(name="CustomerBilling"))
    commit_all(repo, "rename CustomerAccounting to CustomerBilling")
    return run_review(ReviewOptions(project=repo, base="HEAD~1", strict=True))


def test_a_batch_size_change_is_listed_old_to_new_and_strict_passes(batch_change: Outcome):
    changes = batch_change.review.changes
    assert changes is not None and changes.base_ref == "HEAD~1"
    [mapping] = [c for c in changes.resources if c.type == "AWS::Lambda::EventSourceMapping"]
    assert (mapping.action, [(p.path, p.old, p.new) for p in mapping.properties]) == (
        "updated", [("BatchSize", "10", "5")])
    assert mapping.name.startswith("CustomerNotification/Consumer/SqsEventSource")
    assert changes.strict_failures == [] and batch_change.review.exit_code == 0
    assert changes.contract.breaking == () and not changes.contract.note
    markdown = batch_change.markdown_path.read_text()
    assert "| BatchSize | 10 -> 5 |" in markdown.split("## Architecture")[0]


def test_a_subscriber_rename_replaces_its_table_and_queues_and_strict_fails(rename: Outcome):
    changes = rename.review.changes
    replaced = {c.name: c for c in changes.resources if c.action == "replaced"}
    for part in ("Table", "AccountsTable", "Queue", "DeadLetterQueue", "SubscriptionDeadLetterQueue"):
        change = replaced[f"CustomerAccounting/{part}"]
        assert change.renamed_to == f"CustomerBilling/{part}" and change.stateful
    assert sorted(changes.strict_failures) == sorted(
        f"CustomerAccounting/{part} ({kind}) would be replaced (renamed to CustomerBilling/{part})"
        for part, kind in (("Table", "AWS::DynamoDB::Table"), ("AccountsTable", "AWS::DynamoDB::Table"),
                           ("Queue", "AWS::SQS::Queue"),
                           ("DeadLetterQueue", "AWS::SQS::Queue"), ("SubscriptionDeadLetterQueue", "AWS::SQS::Queue")))
    assert rename.review.exit_code == 1
    assert rename.markdown_path.read_text().startswith("# Review of")
    assert "**STRICT fails:**" in rename.markdown_path.read_text()


def test_an_unknown_ref_and_a_ref_that_does_not_synthesize_are_one_line_errors(repo: Path, rename: Outcome):
    runner = CliRunner()
    unknown = runner.invoke(app, ["--project", str(repo), "--base", "no-such-branch"])
    assert unknown.exit_code == 2
    assert unknown.output.strip() == ("error: unknown git ref 'no-such-branch' (BASE): try a branch, a tag or a "
                                      "commit, e.g. BASE=origin/main")
    # a commit whose cdk.json breaks the configuration, made aside so the working tree stays as it is
    side = repo.parent / f"{repo.name}-side"
    git(repo, "worktree", "add", "--detach", "-q", str(side), "HEAD")
    edit_config(side, lambda subscribers: subscribers[0].update(batchSize=50, maxBatchingWindowSeconds=0))
    commit_all(side, "too large a batch")
    broken = git(side, "rev-parse", "HEAD")
    git(repo, "worktree", "remove", "--force", str(side))
    result = runner.invoke(app, ["--project", str(repo), "--base", broken])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: BASE {broken} ({broken[:12]}) synth failed: ")
    assert "batchSize: 50 is over 10" in line
    assert git(repo, "status", "--porcelain") == ""  # the working tree untouched
    assert git(repo, "worktree", "list").count("\n") == 0  # and no worktree left behind


def test_the_cdk_diff_engine_sees_an_iam_broadening(edited_template, default_template):
    def broaden(resources, original):
        policy = find(original, "AWS::IAM::Policy", "CustomerNotification/Consumer")
        resources[policy]["Properties"]["PolicyDocument"]["Statement"].append(
            {"Action": "dynamodb:*", "Effect": "Allow", "Resource": "*"})

    new = edited_template(broaden)
    changes = interpret_diff(run_cfn_diff(default_template, new, tools=Tools.default()), old=default_template,
                             new=new, base_ref="main", base_commit="0" * 40, contract=ContractChanges())
    assert changes.permissions_broadened
    assert [(s["effect"], s["action"], s["resource"]) for s in changes.statements_added] == [
        ("Allow", "dynamodb:*", "*")]
    [policy] = changes.resources
    assert policy.properties[0].new == "statements changed (see permissions above)"
