"""Builds the CDK app from cdk.json, so the CLI, tests and the local cloud synthesize the same thing.

cdk-nag runs two packs at synth: AwsSolutions (security and operations) and Serverless (Lambda,
SQS, API Gateway practice). A finding of either fails synth unless acknowledged on its construct.
"""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from stacks.config import CLI_SETTINGS, CONTEXT_KEY, AppSettings, load_settings
from stacks.ride_completion_stack import RideCompletionStack

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


def project_context() -> dict[str, Any]:
    return dict(json.loads(CDK_JSON.read_text())["context"])


def build_app(*, overrides: dict[str, Any] | None = None, outdir: str | None = None,
              nag: bool = True) -> tuple[App, RideCompletionStack]:
    """The app and its one stack. `overrides` are merged over the `wildrydes` settings of cdk.json."""
    # cdk.json's context is the default; under the CDK CLI the CLI's context (cdk.json plus any -c)
    # overrides it, then the top-level CLI_SETTINGS (`-c stackName=...`), and `overrides` (tests,
    # local cloud) override all of them.
    context = project_context()
    post_cli = None
    if overrides:
        merged = deepcopy(context.get(CONTEXT_KEY, {}))
        merged.update(overrides)
        post_cli = {CONTEXT_KEY: merged}
    app = App(context=context, post_cli_context=post_cli, outdir=outdir)
    raw = app.node.try_get_context(CONTEXT_KEY)
    if isinstance(raw, dict):
        given = {key: app.node.try_get_context(key) for key in CLI_SETTINGS if key not in (overrides or {})}
        raw = {**raw, **{key: value for key, value in given.items() if value is not None}}
    settings: AppSettings = load_settings(raw)
    stack = RideCompletionStack(app, settings.stack_name, settings=settings,
                                description="Wild Rydes: topic-queue chaining and load balancing")
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app, stack
