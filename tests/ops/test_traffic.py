"""The ride mix and the ride message format (which must be the producer's own)."""

from __future__ import annotations

import json

from ops.traffic import INVALID_BODIES, ride_attributes, ride_id_of, ride_message, ride_mix
from shared.ride import Ride, message_attributes


def test_a_seed_gives_the_same_rides_and_another_seed_others():
    first = [item.body for item in ride_mix(50, seed=3, invalid_share=0.2)]
    assert first == [item.body for item in ride_mix(50, seed=3, invalid_share=0.2)]
    assert first != [item.body for item in ride_mix(50, seed=4, invalid_share=0.2)]


def test_shares_of_extraordinary_and_invalid_rides_are_about_as_asked():
    items = list(ride_mix(2000, seed=1, extraordinary_share=0.3, invalid_share=0.1))
    invalid = [i for i in items if not i.valid]
    valid = [i.ride for i in items if i.valid]
    extraordinary = [r for r in valid if r["fare"] >= 50 and r["distance"] >= 20]
    assert 0.08 < len(invalid) / len(items) < 0.12
    assert all(i.body in INVALID_BODIES for i in invalid)
    assert 0.26 < len(extraordinary) / len(valid) < 0.34
    assert [i.index for i in items] == list(range(2000))


def test_the_message_and_attributes_are_exactly_what_the_producer_publishes():
    for item in ride_mix(300, seed=11):
        ride = {**item.ride, "id": f"ride-{item.index}"}
        model = Ride(**ride)
        assert ride_message(ride) == model.to_message()
        assert ride_attributes(ride) == message_attributes(model)
    stored = {"from": "A", "to": "B", "duration": 480, "distance": 600, "customer": "c", "fare": 256.5, "id": "x",
              "status": "PENDING", "requestHash": "h", "createdAt": 1}  # a Rides table item: extra keys dropped
    assert ride_message(stored) == Ride(**{k: stored[k] for k in json.loads(ride_message(stored))}).to_message()


def test_ride_id_of_reads_raw_bodies_and_sns_envelopes():
    assert ride_id_of('{"id": "r1", "fare": 3}') == "r1"
    assert ride_id_of(json.dumps({"Type": "Notification", "Message": '{"id": "r2"}'})) == "r2"
    assert ride_id_of("this is not a ride") is None
    assert ride_id_of("[1, 2]") is None
