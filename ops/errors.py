"""The one error type the CLI turns into a one-line message and a non-zero exit (no traceback)."""

from __future__ import annotations


class OpsError(RuntimeError):
    """Something the user can fix: the message says what and how, in one line."""

    exit_code = 2


class CheckFailed(OpsError):
    """The command ran, and what it checks does not hold (smoke, redrive left messages, ...)."""

    exit_code = 1
