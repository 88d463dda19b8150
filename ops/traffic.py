"""Ride traffic: a seeded mix of ordinary, extraordinary and invalid rides, and the ride message format.

The same seed gives the same rides, in the same order, whatever the concurrency. "Extraordinary"
is the workshop's meaning (fare >= 50 and distance >= 20, the ExtraordinaryRides filter); ordinary
rides fall below one of the two. Invalid requests are bodies the API must answer with a 400.

`ride_message` and `ride_attributes` are what the producer publishes (lambdas/shared/ride.py:
`Ride.to_message()` and `message_attributes`); tests/ops checks they are equal, so that a ride sent
straight to the topic, or republished from the Rides table, is the message the producer would send.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

CITIES = ["Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt", "Stuttgart", "Leipzig", "Dresden"]
CUSTOMERS = ["cmr", "ana", "bo", "dee", "eli", "fay"]
INVALID_BODIES = [
    '{"from": "Berlin", "to": "Munich"}',  # fields missing
    '{"from": "Berlin", "to": "Munich", "duration": 5, "distance": -3, "customer": "cmr", "fare": 9}',
    '{"from": "Berlin", "to": "Munich", "duration": "long", "distance": 3, "customer": "cmr", "fare": 9}',
    "{not json",
    '{"from": "Berlin", "to": "Munich", "duration": 5, "distance": 3, "customer": "cmr", "fare": 9, "tip": 1}',
]
MESSAGE_FIELDS = ("from", "to", "duration", "distance", "customer", "fare", "id")
NUMBER_FIELDS = ("duration", "distance", "fare")
ATTRIBUTE_FIELDS = ("fare", "distance")  # SNS message attributes of type Number: what filter policies read


@dataclass(frozen=True)
class Item:
    """One request of a run: a ride (valid) or an invalid body."""

    index: int
    ride: dict[str, Any] | None
    body: str

    @property
    def valid(self) -> bool:
        return self.ride is not None


def random_ride(generator: random.Random, extraordinary: bool) -> dict[str, Any]:
    start, end = generator.sample(CITIES, 2)
    if extraordinary:
        distance, fare = round(generator.uniform(20, 600), 1), round(generator.uniform(50, 400), 2)
    else:
        distance = round(generator.uniform(1, 40), 1)
        fare = round(generator.uniform(5, 49.99), 2) if distance >= 20 else round(generator.uniform(5, 120), 2)
    return {"from": start, "to": end, "duration": round(distance * generator.uniform(1.2, 2.5)),
            "distance": distance, "customer": generator.choice(CUSTOMERS), "fare": fare}


def ride_mix(count: int | None, *, seed: int = 7, extraordinary_share: float = 0.3,
             invalid_share: float = 0.0) -> Iterator[Item]:
    """`count` items (endless if None): valid rides, about `extraordinary_share` of them extraordinary,
    and about `invalid_share` of all items invalid bodies."""
    generator = random.Random(seed)
    index = 0
    while count is None or index < count:
        if invalid_share and generator.random() < invalid_share:
            yield Item(index, None, generator.choice(INVALID_BODIES))
        else:
            ride = random_ride(generator, generator.random() < extraordinary_share)
            yield Item(index, ride, json.dumps(ride))
        index += 1


def ride_message(ride: Mapping[str, Any]) -> str:
    """The SNS message body of a ride with its id (numbers as JSON floats, as the producer's model has them)."""
    return json.dumps({name: float(ride[name]) if name in NUMBER_FIELDS else str(ride[name])
                       for name in MESSAGE_FIELDS}, separators=(",", ":"))


def ride_attributes(ride: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The SNS message attributes of a ride: fare and distance as Number."""
    return {name: {"DataType": "Number", "StringValue": repr(float(ride[name]))} for name in ATTRIBUTE_FIELDS}


def ride_id_of(body: str) -> str | None:
    """The ride id in a message body (raw, or inside an SNS notification envelope); None if there is none."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("Type") == "Notification" and isinstance(value.get("Message"), str):
        return ride_id_of(value["Message"])
    return str(value["id"]) if isinstance(value, dict) and "id" in value else None
