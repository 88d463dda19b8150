"""API Gateway's stage throttle: a token bucket per method, from the stage's MethodSettings."""

from __future__ import annotations

from local.apigateway.throttling import ACCOUNT_BURST, ACCOUNT_RATE, Limits, StageThrottle, TokenBucket, limits_for

STAGE_WIDE = {"HttpMethod": "*", "ResourcePath": "/*", "ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_admits_its_burst_at_once_then_its_rate_per_second():
    clock = Clock()
    bucket = TokenBucket(rate=50, burst=100, clock=clock)
    assert sum(bucket.take() for _ in range(150)) == 100
    clock.now += 0.5  # half a second refills 25
    assert sum(bucket.take() for _ in range(100)) == 25
    clock.now += 60  # never more than the burst
    assert sum(bucket.take() for _ in range(500)) == 100


def test_the_stage_wide_setting_applies_and_a_methods_own_overrides_it():
    own = {"HttpMethod": "POST", "ResourcePath": "/~1submit-ride-completion", "ThrottlingRateLimit": 5}
    assert limits_for([STAGE_WIDE], "POST", "/submit-ride-completion") == Limits(50, 100)
    assert limits_for([STAGE_WIDE, own], "POST", "/submit-ride-completion") == Limits(5, 100)
    assert limits_for([STAGE_WIDE, own], "GET", "/submit-ride-completion") == Limits(50, 100)
    assert limits_for([], "POST", "/x") == Limits(ACCOUNT_RATE, ACCOUNT_BURST)  # the account's limits
    assert limits_for([{**STAGE_WIDE, "ThrottlingRateLimit": 50_000}], "POST", "/x").rate == ACCOUNT_RATE


def test_each_method_has_its_own_bucket():
    clock = Clock()
    throttle = StageThrottle([{**STAGE_WIDE, "ThrottlingBurstLimit": 2}], clock=clock)
    assert [throttle.admit("POST", "/a") for _ in range(3)] == [True, True, False]
    assert throttle.admit("POST", "/b")
