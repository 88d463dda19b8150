"""boto3 clients for the local AWS endpoint (any credentials do; moto checks none)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config


class Clients:
    """One client per service, created on first use."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url, self.region = endpoint_url, region
        self.session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                             region_name=region)
        self.config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2})
        self._clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self.session.client(name, endpoint_url=self.endpoint_url, config=self.config)
        return self._clients[name]
