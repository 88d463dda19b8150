"""API Gateway's request throttling for a REST API stage: a token bucket per method, as the stage's
`MethodSettings` set it.

From "Throttle requests to your REST APIs" (API Gateway developer guide): each bucket holds at most the burst
limit and refills at the rate limit per second; a request takes one token, and one that finds none is answered
429 `{"message":"Too Many Requests"}` before the integration runs. A stage's `MethodSettings` entry with
`ResourcePath` "/*" and `HttpMethod` "*" sets every method; an entry for one method (its path with "/" written
"~1", as in "/~1submit-ride-completion") overrides it. With no setting at all, the account-level limits apply
(10,000 requests per second, burst 5,000, per Region). AWS applies the limits "on a best-effort basis"; here the
bucket is exact.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ACCOUNT_RATE, ACCOUNT_BURST = 10_000.0, 5_000  # "Amazon API Gateway quotas": throttle quota per account, Region


class TokenBucket:
    """`burst` tokens at most, `rate` more each second; `take()` spends one if there is one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = float(rate), int(burst), clock
        self.tokens, self.at = float(burst), clock()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = self.clock()
            self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


@dataclass(frozen=True)
class Limits:
    rate: float
    burst: int


def _path_of(resource_path: str) -> str:
    """"/~1submit-ride-completion" (a leading "/", then the path with "/" as "~1") -> "/submit-ride-completion"."""
    return resource_path[1:].replace("~1", "/")


def limits_for(method_settings: Iterable[dict[str, Any]], method: str, path: str) -> Limits:
    """The limits of one method (`path` as the API defines it, e.g. /submit-ride-completion)."""
    rate, burst = ACCOUNT_RATE, ACCOUNT_BURST
    chosen: dict[str, Any] = {}
    for setting in method_settings:  # the stage-wide entry ...
        if setting.get("ResourcePath") == "/*" and setting.get("HttpMethod") == "*":
            chosen.update(setting)
    for setting in method_settings:  # ... then the method's own
        if _path_of(str(setting.get("ResourcePath", ""))) == path and setting.get("HttpMethod") in (method, "*"):
            chosen.update(setting)
    if "ThrottlingRateLimit" in chosen:
        rate = min(float(chosen["ThrottlingRateLimit"]), ACCOUNT_RATE)
    if "ThrottlingBurstLimit" in chosen:
        burst = min(int(chosen["ThrottlingBurstLimit"]), ACCOUNT_BURST)
    return Limits(rate, burst)


class StageThrottle:
    """One bucket per (method, path) of the stage, from its MethodSettings."""

    def __init__(self, method_settings: list[dict[str, Any]], clock: Callable[[], float] = time.monotonic) -> None:
        self.method_settings, self.clock = list(method_settings), clock
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        self.lock = threading.Lock()

    def admit(self, method: str, path: str) -> bool:
        bucket = self.buckets.get((method, path))
        if bucket is None:
            with self.lock:
                limits = limits_for(self.method_settings, method, path)
                bucket = self.buckets.setdefault((method, path), TokenBucket(limits.rate, limits.burst, self.clock))
        return bucket.take()
