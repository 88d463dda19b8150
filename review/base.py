"""The BASE side of a change: a git ref checked out in a temporary worktree, synthesized with this checkout's tools.

The working tree is never touched: `git worktree add --detach` puts the ref in a temporary directory,
synth runs there with the current .venv and node_modules, and the worktree is removed afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from review.errors import ReviewError


def _git(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=False, timeout=120)
    except FileNotFoundError as error:
        raise ReviewError("git is not installed; BASE needs it") from error


def resolve_ref(project: Path, ref: str) -> str:
    """The commit a ref names; ReviewError if git does not know it."""
    if not ref.strip() or ref.startswith("-"):
        raise ReviewError(f"BASE {ref!r} is not a git ref")
    result = _git(project, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if result.returncode != 0:
        if _git(project, "rev-parse", "--git-dir").returncode != 0:
            raise ReviewError(f"{project} is not a git repository, so BASE {ref!r} cannot be checked out")
        raise ReviewError(f"unknown git ref {ref!r} (BASE): try a branch, a tag or a commit, e.g. BASE=origin/main")
    return result.stdout.strip()


@contextmanager
def worktree(project: Path, commit: str) -> Iterator[Path]:
    """The commit checked out (detached) in a temporary directory, removed on exit."""
    scratch = Path(tempfile.mkdtemp(prefix="review-base-"))
    checkout = scratch / "base"
    added = _git(project, "worktree", "add", "--detach", "--quiet", str(checkout), commit)
    if added.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        problem = (added.stderr.strip().splitlines() or ["git worktree add failed"])[-1]
        raise ReviewError(f"cannot check out {commit[:12]} in a worktree: {problem}")
    try:
        yield checkout
    finally:
        _git(project, "worktree", "remove", "--force", str(checkout))
        shutil.rmtree(scratch, ignore_errors=True)
        _git(project, "worktree", "prune")
