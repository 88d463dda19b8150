"""The local cloud follows the CDK configuration: change cdk.json settings, synth, and it behaves so."""

from __future__ import annotations

import json
import uuid

import pytest

from stacks.app_factory import project_context
from tests.conftest import synthesize
from tests.factories import SAMPLE_RIDE
from tests.local.conftest import effect_ids, post_ride, start_cloud, wait_for

ACCOUNTING = "CustomerAccounting"


@pytest.fixture(scope="module")
def tuned_cloud(tmp_path_factory):
    """Accounting with batch 5, concurrency 3, 6 receives; extraordinary rides from a fare of 300."""
    subscribers = [dict(s) for s in project_context()["wildrydes"]["subscribers"]]
    subscribers[1].update(batchSize=5, maxBatchingWindowSeconds=1, maxConcurrency=3, maxReceiveCount=6)
    subscribers[2]["filterPolicy"] = {"fare": [{"numeric": [">=", 300]}]}
    outdir = tmp_path_factory.mktemp("tuned.out")
    synthesize(outdir, overrides={"subscribers": subscribers})
    cloud = start_cloud(outdir, tmp_path_factory.mktemp("logs"), paused=True)
    yield cloud
    cloud.stop()


def ride_message(ride_id: str) -> str:
    return json.dumps({**SAMPLE_RIDE, "id": ride_id})


def test_mapping_settings_come_from_the_configuration(tuned_cloud):
    mapping = tuned_cloud.mapping(ACCOUNTING)
    assert (mapping.batch_size, mapping.max_concurrency, mapping.max_receive_count) == (5, 3, 6)
    assert mapping.report_batch_item_failures is True
    assert mapping.visibility_timeout_seconds == 6 * 30 + 1


def test_partial_batch_deletes_only_the_good_records(tuned_cloud):
    # Given good and poison messages waiting together in the queue (pollers paused)
    sqs = tuned_cloud.clients.client("sqs")
    url = tuned_cloud.outputs[f"{ACCOUNTING}QueueUrl"]
    bodies = [ride_message("pb-1"), "poison-1", ride_message("pb-2"), '{"id": "pb-x"}', ride_message("pb-3")]
    ids = [sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"] for body in bodies]
    poison = {ids[1], ids[3]}
    # When the pollers start
    tuned_cloud.resume()

    def settled() -> list:
        ours = [i for i in tuned_cloud.snapshot(ACCOUNTING).invocations if set(i.message_ids) & set(ids)]
        return ours if set(ids) <= {m for i in ours for m in i.message_ids} else []

    ours = wait_for(settled, what="every message in a settled batch")
    assert {"pb-1", "pb-2", "pb-3"} <= effect_ids(tuned_cloud, ACCOUNTING)
    # Then every batch failed exactly its poison records (however the workers split the queue),
    assert all(set(i.failed_ids) == set(i.message_ids) & poison for i in ours)
    assert any(set(i.message_ids) & poison and set(i.message_ids) - poison for i in ours)  # a mixed batch
    # and only the poison records were ever received again, until the DLQ took them after 6 receives
    wait_for(lambda: all(tuned_cloud.snapshot(ACCOUNTING).received.get(m) == 6 for m in poison),
             what="6 receives of each poison record")
    seen = tuned_cloud.snapshot(ACCOUNTING)
    assert all(seen.received[m] == 1 for m in set(ids) - poison)
    assert set(ids) - poison <= seen.deleted and not poison & seen.deleted


def test_max_concurrency_is_honoured_and_every_worker_takes_work(tuned_cloud):
    tuned_cloud.resume()
    sqs = tuned_cloud.clients.client("sqs")
    url = tuned_cloud.outputs[f"{ACCOUNTING}QueueUrl"]
    before = {tuple(i.message_ids) for i in tuned_cloud.snapshot(ACCOUNTING).invocations}
    ride_ids = [f"load-{uuid.uuid4()}" for _ in range(120)]
    for chunk in range(0, len(ride_ids), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": ride_message(r)}
                                                      for i, r in enumerate(ride_ids[chunk:chunk + 10])])
    wait_for(lambda: set(ride_ids) <= effect_ids(tuned_cloud, ACCOUNTING), what="120 rides processed")
    seen = tuned_cloud.snapshot(ACCOUNTING)
    invocations = [i for i in seen.invocations if tuple(i.message_ids) not in before]
    # never more invocations at once than the mapping allows, measured from their start and end times
    events = sorted([(i.started, 1) for i in invocations] + [(i.ended, -1) for i in invocations],
                    key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak <= 3 and seen.max_in_flight <= 3
    assert all(len(i.message_ids) <= 5 for i in invocations)
    assert {i.worker for i in invocations} == {1, 2, 3}  # the queue balanced the load over every worker


def test_the_filter_policy_follows_the_configuration(tuned_cloud):
    tuned_cloud.resume()
    url = tuned_cloud.outputs["ApiUrl"]
    _, cheap = post_ride(url, {**SAMPLE_RIDE, "fare": 256.5})  # extraordinary by the workshop rule, not by 300
    _, dear = post_ride(url, {**SAMPLE_RIDE, "fare": 300})
    wait_for(lambda: {cheap["id"], dear["id"]} <= effect_ids(tuned_cloud, "CustomerNotification"), what="delivery")
    wait_for(lambda: dear["id"] in effect_ids(tuned_cloud, "ExtraordinaryRides"), what="the dear ride")
    assert cheap["id"] not in tuned_cloud.snapshot("ExtraordinaryRides").ride_ids
