"""At load, with faults: nothing lost, nothing processed twice, nothing astray, every customer charged exactly.

3,000 rides through the API (`wildrydes send`); consumers fail 30% of records at random; a poison
message (5% of requests) is published to the topic after every twentieth request; mid-run one
consumer's execution environments are killed (as a crash would) and another service's pollers are
paused, then resumed. Afterwards every service is reconciled exactly (`wildrydes`'s reconcile)
against its own subscription filter, and every ride in the Rides table is PUBLISHED. The accounting
service's per-customer balances must be the sum of each customer's rides, and `rides` their count: a
ride processed twice would be charged twice there (counting ledger items per ride id could not see it).
The same checks at 10,000 rides are `make bench`'s load run (bench/local_cloud_load.py); 3,000 here keeps
`make test` within its budget (it was 5,000: 218 s of one worker, a fifth of the suite).
"""

from __future__ import annotations

import itertools
import json

import pytest

from bench.ride_load import charge_counts, exact, load, queued
from ops.reconcile import reconcile
from ops.target import target_from_endpoints
from tests.conftest import synthesize
from tests.local.conftest import start_cloud, wait_for

pytestmark = pytest.mark.long  # tens of seconds: `make test` starts it early (tests/conftest.py)

RIDES = 3000
CRASHED, PAUSED = "CustomerNotification", "CustomerAccounting"


@pytest.fixture(scope="module")
def faulty_cloud(tmp_path_factory: pytest.TempPathFactory):
    # the stage throttle raised, as a user would before a load test: at the default 50/s it alone would hold
    # 3,000 rides to 60 s (tests/local/test_enforcement.py shows the throttle itself)
    cdk_out = tmp_path_factory.mktemp("cdk.out")
    synthesize(cdk_out, overrides={"apiRateLimit": 10_000, "apiBurstLimit": 5_000})
    cloud = start_cloud(cdk_out, tmp_path_factory.mktemp("logs"), failure_rate=0.3)
    yield cloud
    cloud.stop()


def test_thousands_of_rides_with_faults_reconcile_exactly(faulty_cloud):
    cloud = faulty_cloud
    target = target_from_endpoints(cloud.endpoints())
    faults: dict[str, int] = {}
    sent = itertools.count(1)

    def inject_faults(_outcome: object) -> None:  # while the rides go out: pause one service, crash another
        count = next(sent)  # one number per request, whichever sender thread counts it
        if count == RIDES // 5:
            cloud.pause(PAUSED)
        elif count == 2 * RIDES // 5:
            faults["killed"] = cloud.kill_environments(CRASHED)
        elif count == 3 * RIDES // 5:
            faults["backlog"] = int(target.client("sqs").get_queue_attributes(
                QueueUrl=cloud.outputs[f"{PAUSED}QueueUrl"], AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"]["ApproximateNumberOfMessages"])
            cloud.resume(PAUSED)

    report, poison = load(target, rides=RIDES, clients=8, poison_every=20, seed=5, on_outcome=inject_faults)
    assert report.summary()["accepted"] == RIDES
    assert faults["killed"] >= 1, "the crash hit no running environment"
    assert faults["backlog"] > 100, "the paused service did not build a backlog"

    wait_for(lambda: queued(target) == 0, timeout=180, what="every queue drained")
    reconciliation = reconcile(target, report.accepted())
    print(json.dumps(reconciliation.as_dict(), indent=1))
    assert exact(target, reconciliation, RIDES, poison), reconciliation.as_dict()
    charges = charge_counts(reconciliation)
    [accounting] = [s for s in reconciliation.services if s.accounts is not None]
    assert charges["charged_rides"] == RIDES - accounting.in_dlq and charges["customers"] >= 2, charges
    assert charges["double_charges"] == charges["missed_charges"] == 0, charges
    # the standard topic and queues keep sums exact, not the order: measured for every charge, not required
    assert accounting.order is not None and accounting.order.entries == charges["charged_rides"]
    print(f"standard: {accounting.order.out_of_order} of {accounting.order.entries} charges applied out of order")
    crashed = cloud.status()["mappings"][cloud.mapping(CRASHED).function.logical_id]
    assert crashed["cold_starts"] > cloud.mapping(CRASHED).max_concurrency  # environments started again
