#!/usr/bin/env python3
"""CDK entry point: builds the app from cdk.json, runs cdk-nag (AwsSolutions and Serverless), synthesizes."""

import sys

from stacks.app_factory import build_app
from stacks.config import ConfigError

if __name__ == "__main__":
    try:
        app, _ = build_app()
    except ConfigError as error:
        sys.exit(f"error: {error}")
    try:
        app.synth()
    except RuntimeError as error:  # jsii wraps the validation failure in a long JavaScript trace
        if "ValidationFailed" not in str(error):
            raise
        sys.exit("error: cdk-nag findings above are not acknowledged; fix them, or acknowledge each on its "
                 "construct with a reason (stacks/secure_defaults.acknowledge, pack=...)")
