"""The local cloud's own clients of its AWS endpoint (the deploy, the pollers' helpers, tests)."""

from __future__ import annotations

from botocore.config import Config

from aws_clients import ClientCache, local_session


def local_clients(endpoint_url: str, region: str, ca_bundle: str | None = None) -> ClientCache:
    return ClientCache(local_session(region), endpoint_url,
                       Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}), ca_bundle=ca_bundle)
