"""The load generator's logic: retries with the same Idempotency-Key, pacing, concurrency, the summary."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from ops.errors import OpsError
from ops.send import SendOptions, drive
from ops.send_report import Outcome, SendReport, percentile, read_accepted, write_accepted
from ops.senders import ApiSender, TopicSender, backoff
from ops.traffic import Item, ride_mix

URL = "http://api.test/prod/submit-ride-completion"


def sender(handler, **kwargs) -> ApiSender:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return ApiSender(URL, concurrency=4, retries=kwargs.pop("retries", 3), timeout=5, client=client,
                     sleep=lambda _: None, **kwargs)


def test_a_throttled_or_unavailable_ride_is_retried_with_the_same_idempotency_key():
    seen = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Idempotency-Key"))
        if len(seen) == 1:
            return httpx.Response(429, json={"message": "Too Many Requests"})
        if len(seen) == 2:
            return httpx.Response(503, json={"message": "retry"})
        return httpx.Response(201, json={"id": "ride-1"})

    item = next(iter(ride_mix(1)))
    outcome = sender(api, run_id="run").send(item)
    assert outcome.category == "accepted" and outcome.ride_id == "ride-1" and outcome.attempts == 3
    assert seen == ["run-0"] * 3
    assert (outcome.fare, outcome.distance) == (item.ride["fare"], item.ride["distance"])


def test_a_400_is_not_retried_and_no_answer_is_retried_until_the_limit():
    calls = []

    def bad(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"message": "invalid ride"})

    invalid = Item(0, None, "{not json")
    outcome = sender(bad).send(invalid)
    assert (outcome.category, outcome.attempts, len(calls)) == ("rejected", 1, 1)
    assert "Idempotency-Key" not in calls[0].headers  # nothing to deduplicate: nothing is stored

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    outcome = sender(down, retries=2).send(next(iter(ride_mix(1))))
    assert (outcome.category, outcome.status, outcome.attempts) == ("failed", 0, 3)
    assert "ConnectError" in outcome.error


def test_backoff_grows_is_capped_and_jittered():
    assert backoff(1, jitter=lambda: 0.0) == pytest.approx(0.025)
    assert backoff(3, jitter=lambda: 1.0) == pytest.approx(0.2)
    assert backoff(30, jitter=lambda: 1.0) == 2.0


def test_percentiles_by_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([], 50) == 0.0 and percentile([7.0], 99) == 7.0


class FakeClock:
    """Time that passes only when drive waits or a handler says so: pacing checked by the clock drive paces by,
    never by how long the test took."""

    def __init__(self) -> None:
        self.now, self.lock = 0.0, threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> bool:
        with self.lock:
            self.now += seconds
        return False  # not stopped


def test_drive_paces_items_by_their_index_and_never_exceeds_the_concurrency():
    """No item is sent before it is due (item n at n / rate), and never more than `concurrency` at once."""
    clock, active, peak, lock = FakeClock(), [0], [0], threading.Lock()
    sent_at: dict[int, float] = {}

    def handle(items: list[Item]) -> list[Outcome]:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            sent_at.update((i.index, clock()) for i in items)
        time.sleep(0.005)  # long enough for the clients to overlap; what is asserted is the peak, not the time
        with lock:
            active[0] -= 1
        return [Outcome(i.index, True, 201, 0.02, 1, ride_id=str(i.index)) for i in items]

    report = drive(ride_mix(20), handle, concurrency=3, rate=100, clock=clock, wait=clock.advance)
    assert len(report.outcomes) == 20 and peak[0] <= 3
    early = {index: at for index, at in sent_at.items() if at < index / 100}
    assert sorted(sent_at) == list(range(20)) and early == {}
    assert report.elapsed >= 0.19  # item 19 is due 0.19 s after the start


def test_drive_stops_taking_items_at_its_duration():
    """Endless items, bounded time: each handled item takes 0.05 s of the clock, so a 0.2 s run sends 4, and at
    most one more that a second client took just before the deadline."""
    clock = FakeClock()

    def handle(items: list[Item]) -> list[Outcome]:
        clock.advance(0.05)
        return [Outcome(i.index, True, 201, 0.05, 1, ride_id=str(i.index)) for i in items]

    report = drive(ride_mix(None), handle, concurrency=2, duration=0.2, clock=clock, wait=clock.advance)
    assert 4 <= len(report.outcomes) <= 5 and report.elapsed >= 0.2


def test_a_client_error_stops_the_run_and_is_raised():
    def broken(items):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        drive(ride_mix(10), broken, concurrency=2)


class FakeSns:
    def __init__(self, fail_first: dict[str, bool]):
        self.calls: list[list[dict]] = []
        self.fail_first = dict(fail_first)  # entry id -> sender fault

    def publish_batch(self, TopicArn, PublishBatchRequestEntries):
        self.calls.append(PublishBatchRequestEntries)
        ok, failed = [], []
        for entry in PublishBatchRequestEntries:
            if entry["Id"] in self.fail_first:
                failed.append({"Id": entry["Id"], "SenderFault": self.fail_first.pop(entry["Id"]), "Code": "X",
                               "Message": "nope"})
            else:
                ok.append({"Id": entry["Id"], "MessageId": "m" + entry["Id"]})
        return {"Successful": ok, "Failed": failed}


def test_topic_sender_publishes_the_producer_message_and_retries_only_server_faults():
    sns = FakeSns({"1": False, "2": True})
    ids = iter(f"id-{n}" for n in range(10))
    items = list(ride_mix(3))
    outcomes = TopicSender(sns, "arn:topic", retries=2, sleep=lambda _: None, new_id=lambda: next(ids))(items)
    assert [o.category for o in outcomes] == ["accepted", "accepted", "rejected"]
    assert [len(call) for call in sns.calls] == [3, 1]  # entry 1 again, entry 2 (a sender fault) not
    first = sns.calls[0][0]
    assert json.loads(first["Message"])["id"] == "id-0"
    fare = repr(float(items[0].ride["fare"]))
    assert first["MessageAttributes"]["fare"] == {"DataType": "Number", "StringValue": fare}


def test_the_summary_counts_categories_and_unexpected_answers():
    report = SendReport(via="api", elapsed=2.0, outcomes=[
        Outcome(0, True, 201, 0.1, 1, ride_id="a", fare=60.0, distance=30.0),
        Outcome(1, True, 503, 0.5, 4),
        Outcome(2, False, 400, 0.05, 1),
        Outcome(3, False, 201, 0.05, 1, ride_id="b", fare=1.0, distance=1.0),  # an invalid body accepted!
    ])
    summary = report.summary()
    assert (summary["accepted"], summary["rejected"], summary["failed"], summary["poison"]) == (1, 1, 1, 1)
    assert summary["unexpected"] == 2  # the 503 and the invalid body the API took
    assert summary["statuses"] == {"201": 2, "400": 1, "503": 1} and summary["retries"] == 3
    assert summary["achieved_rate"] == 2.0 and summary["latency_ms"]["p99"] == 500.0
    topic = SendReport(via="topic", outcomes=[Outcome(0, False, 200, 0.1, 1), Outcome(1, True, 200, 0.1, 1, "r")])
    assert (topic.summary()["poison"], topic.summary()["accepted"], topic.summary()["unexpected"]) == (1, 1, 0)


def test_accepted_rides_round_trip_through_a_file(tmp_path: Path):
    report = SendReport(via="api", outcomes=[Outcome(1, True, 201, 0.1, 1, ride_id="b", fare=2.5, distance=3.0,
                                                     customer="ana"),
                                             Outcome(0, True, 201, 0.1, 1, ride_id="a", fare=60.0, distance=30.0,
                                                     customer="bo"),
                                             Outcome(2, True, 503, 0.1, 1)])
    path = tmp_path / "rides.jsonl"
    assert write_accepted(path, report) == 2
    assert read_accepted(path) == [{"id": "a", "fare": 60.0, "distance": 30.0, "customer": "bo"},
                                   {"id": "b", "fare": 2.5, "distance": 3.0, "customer": "ana"}]
    path.write_text('{"id": "a", "fare": 1, "distance": 2}\n')  # an older file: the ledger knows the customer
    assert read_accepted(path) == [{"id": "a", "fare": 1.0, "distance": 2.0, "customer": None}]
    path.write_text('{"id": "a"}\n')
    with pytest.raises(OpsError, match=r"rides\.jsonl:1: not a ride"):
        read_accepted(path)


@pytest.mark.parametrize(("options", "message"), [
    (SendOptions(rides=0), "--rides must be at least 1"),
    (SendOptions(rides=None), "give a number of rides or a --duration"),
    (SendOptions(concurrency=0), "--concurrency must be from 1 to 256"),
    (SendOptions(via="carrier pigeon"), "--via must be api or topic"),
    (SendOptions(invalid_share=2), "--invalid-share must be from 0 to 1"),
])
def test_bad_options_are_one_clear_error(options, message):
    with pytest.raises(OpsError, match=message):
        options.check()
