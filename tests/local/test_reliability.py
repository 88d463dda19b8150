"""At load, with faults: nothing lost, nothing processed twice, nothing astray.

5,000 rides through the API; consumers fail 30% of records at random; poison messages (5% of rides)
are published to the topic and reach every queue; mid-run one consumer's execution environments are
killed (as a crash would) and another service's pollers are paused, then resumed. Afterwards every
service is reconciled exactly against its own subscription filter.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from bench.local_cloud_load import reconcile_services, send_rides
from scripts.rides import ride_mix
from tests.local.conftest import start_cloud, wait_for

RIDES = 5000
POISON_EVERY = 20  # 5%
CRASHED, PAUSED = "CustomerNotification", "CustomerAccounting"


@pytest.fixture(scope="module")
def faulty_cloud(cloud_assembly: Path, tmp_path_factory: pytest.TempPathFactory):
    cloud = start_cloud(cloud_assembly, tmp_path_factory.mktemp("logs"), failure_rate=0.3)
    yield cloud
    cloud.stop()


def queued(cloud) -> int:
    sqs = cloud.clients.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    return sum(int(value) for m in cloud.mappings
               for value in sqs.get_queue_attributes(QueueUrl=m.queue_url, AttributeNames=names)["Attributes"].values())


def test_5000_rides_with_faults_reconcile_exactly(faulty_cloud):
    cloud = faulty_cloud
    rides = list(ride_mix(RIDES, seed=5))
    progress = {"sent": 0}
    faults: dict[str, object] = {}

    def inject_faults() -> None:  # while the rides go out: pause one service, crash another, resume
        wait_for(lambda: progress["sent"] >= RIDES // 5, timeout=300, what="a fifth of the rides sent")
        cloud.pause(PAUSED)
        wait_for(lambda: progress["sent"] >= 2 * RIDES // 5, timeout=300, what="two fifths sent")
        faults["killed"] = cloud.kill_environments(CRASHED)
        wait_for(lambda: progress["sent"] >= 3 * RIDES // 5, timeout=300, what="three fifths sent")
        faults["backlog"] = int(cloud.clients.client("sqs").get_queue_attributes(
            QueueUrl=cloud.outputs[f"{PAUSED}QueueUrl"], AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"]["ApproximateNumberOfMessages"])
        cloud.resume(PAUSED)

    injector = threading.Thread(target=inject_faults, daemon=True)
    injector.start()
    sent = send_rides(cloud.outputs, cloud.clients.client, rides, clients=8, poison_every=POISON_EVERY,
                      progress=progress)
    injector.join(timeout=60)
    assert sent["statuses"] == {201: RIDES}
    assert faults["killed"] >= 1, "the crash hit no running environment"
    assert faults["backlog"] > 100, "the paused service did not build a backlog"

    wait_for(lambda: queued(cloud) == 0, timeout=180, what="every queue drained")
    time.sleep(1)  # the last deletes settle
    report = reconcile_services(cloud.outputs, cloud.clients.client, sent["accepted"])
    print(json.dumps(report, indent=1))
    for service, row in report["services"].items():
        assert row["lost"] == 0 and row["astray"] == 0, (service, row)
        assert row["processed"] + row["in_dlq"] - row["processed_and_in_dlq"] == row["expected"], (service, row)
        assert row["poison_in_dlq"] == sent["poison"], (service, row)
    assert report["rides_table"] == {"PUBLISHED": RIDES}
    assert cloud.status()["mappings"][cloud.mapping(CRASHED).function.logical_id]["cold_starts"] >= 2
