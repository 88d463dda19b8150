"""Lazily created boto3 resources, so tests can start moto before the first client exists."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3


@cache
def dynamodb_table(name: str) -> Any:
    return boto3.resource("dynamodb").Table(name)


@cache
def sns_client() -> Any:
    return boto3.client("sns")


def reset() -> None:
    """Forget cached clients (tests that start a fresh moto call this)."""
    dynamodb_table.cache_clear()
    sns_client.cache_clear()
