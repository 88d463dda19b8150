"""One boto3 client per service, made on first use, from any thread (boto3 sessions are not thread-safe to
make clients from; the clients themselves are)."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from typing import Any

from aws_clients.credentials import LOCAL_CREDENTIALS


@functools.cache
def data_loader() -> Any:
    """botocore's data loader, one per process. It keeps what it parsed, and each new session would make its
    own and parse the same JSON again: the endpoint data (~50 ms) and every service model it makes a client of."""
    from botocore.loaders import create_loader

    return create_loader(os.environ.get("AWS_DATA_PATH"))


def core_session() -> Any:
    """A new botocore session that reads its data through this process's one data loader."""
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", data_loader())
    return core


def session_with(credentials: Mapping[str, str], region: str) -> Any:
    """A boto3 session with exactly these credentials (`AWS_ACCESS_KEY_ID`, ... as environment names)."""
    import boto3

    return boto3.session.Session(aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                                 aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                                 aws_session_token=credentials.get("AWS_SESSION_TOKEN"), region_name=region,
                                 botocore_session=core_session())


def local_session(region: str) -> Any:
    """A session with the local caller's credentials (the local cloud takes any key as the account)."""
    return session_with(LOCAL_CREDENTIALS, region)


class ClientCache:
    """Clients of one session and endpoint (None: AWS itself), one per service, made once."""

    def __init__(self, session: Any, endpoint_url: str | None = None, config: Any = None,
                 ca_bundle: str | None = None) -> None:
        self.session, self.endpoint_url, self.config = session, endpoint_url, config
        self.ca_bundle = ca_bundle
        self.lock = threading.Lock()
        self.clients: dict[tuple[str, int | None], Any] = {}

    def client(self, name: str, *, pool: int | None = None) -> Any:
        """The client of service `name`; `pool` sizes its connection pool (one client per size)."""
        key = (name, pool)
        with self.lock:
            if key not in self.clients:
                config = self.config
                if pool is not None:
                    from botocore.config import Config

                    config = (config or Config()).merge(Config(max_pool_connections=pool))
                self.clients[key] = self.session.client(name, endpoint_url=self.endpoint_url, config=config,
                                                        verify=self.ca_bundle or None)
            return self.clients[key]
