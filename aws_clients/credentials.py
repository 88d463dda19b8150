"""Credentials and environment variables for processes and clients pointed at an AWS endpoint of our own
(the local cloud, or moto in the deploy rehearsal): what `aws --endpoint-url`, boto3 and a function's
environment need, with nothing of the user's own AWS configuration reachable where that matters.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# Keys the local cloud did not issue act as the account (any key works); these name a local caller.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def endpoint_environment(endpoint_url: str, region: str, *, credentials: Mapping[str, str] = LOCAL_CREDENTIALS,
                         ca_bundle: str | None = None) -> dict[str, str]:
    """The variables that point the AWS SDKs and CLI of a process at `endpoint_url`."""
    environment = {**credentials, "AWS_ENDPOINT_URL": endpoint_url, "AWS_REGION": region,
                   "AWS_DEFAULT_REGION": region}
    if ca_bundle:
        environment["AWS_CA_BUNDLE"] = ca_bundle
    return environment


def isolated_environment(endpoint_url: str, region: str, credentials: Mapping[str, str],
                         base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) without any AWS setting of the user's (profile, keys,
    config files, instance metadata), pointed at `endpoint_url`: no real account is reachable from it."""
    kept = {k: v for k, v in (os.environ if base is None else base).items()
            if not k.startswith("AWS_") and k not in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")}
    return {**kept, **endpoint_environment(endpoint_url, region, credentials=credentials),
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true"}
