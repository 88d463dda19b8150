"""Lazily created boto3 clients, so tests can start moto before the first client exists.

Created under a lock: boto3's default session is not thread-safe, and consumers write from several
threads at once (the clients themselves are thread-safe once made).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3

_creating = threading.Lock()


@cache
def dynamodb_table(name: str) -> Any:
    with _creating:
        return boto3.resource("dynamodb").Table(name)


@cache
def dynamodb_client() -> Any:
    with _creating:
        return boto3.client("dynamodb")


@cache
def sns_client() -> Any:
    with _creating:
        return boto3.client("sns")


def reset() -> None:
    """Forget cached clients (tests that start a fresh moto call this)."""
    dynamodb_table.cache_clear()
    dynamodb_client.cache_clear()
    sns_client.cache_clear()
