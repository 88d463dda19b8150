"""The stage throttle the template declares (apiRateLimit, apiBurstLimit): beyond it, API Gateway's 429 and no ride.

The cloud here has small limits (2 a second, burst 5), so the test needs no more speed than any machine
has: at the defaults (50 a second) a busy 2-core machine may not even reach the rate, and never be throttled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.cloud import LocalCloud
from tests.conftest import synthesize
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import effect_ids, post_ride, start_cloud, wait_for

RATE, BURST = 2, 5


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    cdk_out = tmp_path_factory.mktemp("throttled.out")
    synthesize(cdk_out, {"apiRateLimit": RATE, "apiBurstLimit": BURST})
    cloud = start_cloud(cdk_out, tmp_path_factory.mktemp("logs"))
    yield cloud
    cloud.stop()


def rides_stored(cloud: LocalCloud) -> int:
    return len(cloud.clients.client("dynamodb").scan(TableName=cloud.outputs["RidesTableName"])["Items"])


def test_the_stage_throttle_answers_429_beyond_its_burst_and_a_throttled_ride_is_not_taken(cloud):
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE), range(40)))
    elapsed = time.monotonic() - started
    accepted = [answer["id"] for status, answer in answers if status == 201]
    throttled = [answer for status, answer in answers if status == 429]
    assert len(accepted) + len(throttled) == 40, answers
    assert throttled and all(answer == {"message": "Too Many Requests"} for answer in throttled)
    assert BURST <= len(accepted) <= BURST + RATE * elapsed + 1
    wait_for(lambda: all(ride in effect_ids(cloud, "CustomerNotification") for ride in accepted), what="the rides")
    assert rides_stored(cloud) == len(accepted)  # a throttled request never reached the producer
