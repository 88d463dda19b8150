"""Ride traffic for the demo and the load generator: a seeded mix, sent to the API over HTTP."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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


@dataclass(frozen=True)
class Sent:
    ride: dict[str, Any] | None  # None: an invalid body
    status: int
    answer: dict[str, Any]


def ride_mix(count: int, seed: int = 7, extraordinary_share: float = 0.3) -> Iterator[dict[str, Any]]:
    generator = random.Random(seed)
    for _ in range(count):
        start, end = generator.sample(CITIES, 2)
        if generator.random() < extraordinary_share:
            distance, fare = round(generator.uniform(20, 600), 1), round(generator.uniform(50, 400), 2)
        else:
            distance = round(generator.uniform(1, 40), 1)
            fare = round(generator.uniform(5, 49.99), 2) if distance >= 20 else round(generator.uniform(5, 120), 2)
        yield {"from": start, "to": end, "duration": round(distance * generator.uniform(1.2, 2.5)),
               "distance": distance, "customer": generator.choice(CUSTOMERS), "fare": fare}


def post(url: str, body: str, timeout: float = 30) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def send_all(url: str, rides: list[dict[str, Any]], invalid: list[str], workers: int = 8) -> list[Sent]:
    def send(item: dict[str, Any] | str) -> Sent:
        if isinstance(item, str):
            status, answer = post(url, item)
            return Sent(None, status, answer)
        status, answer = post(url, json.dumps(item))
        return Sent(item, status, answer)

    items: list[dict[str, Any] | str] = [*rides, *invalid]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(send, items))
