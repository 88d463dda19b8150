"""The stage throttle the template declares (apiRateLimit, apiBurstLimit): beyond it, API Gateway's 429 and no ride.

The cloud here has small limits (2 a second, burst 5), so the test needs no more speed than any machine
has: at the defaults (50 a second) a busy 2-core machine may not even reach the rate, and never be throttled.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local.cloud import LocalCloud
from tests.conftest import synthesize
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import ROOT_SIGNER, effect_ids, post_ride, start_cloud, wait_for

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


def test_a_burst_of_500_clients_each_on_its_own_connection_gets_500_answers(cloud):
    """A hundred times the burst limit at once: every client gets an answer (a reset or a time-out raises
    here), a ride or API Gateway's 429, and exactly the rides answered 201 were taken."""
    before = rides_stored(cloud)
    url = cloud.outputs["ApiUrl"]

    # one pool that opens a connection per request in flight (a client each would build 500 TLS contexts)
    with httpx.Client(timeout=60, auth=ROOT_SIGNER, limits=httpx.Limits(max_connections=500)) as client, \
            ThreadPoolExecutor(max_workers=500) as pool:
        responses = list(pool.map(lambda index: client.post(url, content=json.dumps(SAMPLE_RIDE), headers={
            "Idempotency-Key": f"500-{index}"}), range(500)))
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) == {201, 429}, statuses
    assert all(r.json() == {"message": "Too Many Requests"} for r in responses if r.status_code == 429)
    assert rides_stored(cloud) == before + statuses[201]
