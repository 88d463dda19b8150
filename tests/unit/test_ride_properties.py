"""Property test: whatever body arrives, the producer answers 201 or 400 and stores nothing invalid.

Generated bodies go through the producer's logic (submit_ride) with an in-memory store and
publisher that check what AWS would check: the item is serialized by boto3's own DynamoDB
serializer (which refuses numbers DynamoDB cannot hold) and encoded as UTF-8 as on the wire; the
message must re-parse as the same ride and its Number attributes must be in SQS's range.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.ride import SNS_MAX_MESSAGE_BYTES, Ride, message_attributes
from shared.ride_store import Publication, RideState
from tests.factories import SAMPLE_RIDE
from unicorn_management.logic import submit_ride

FIELDS = list(SAMPLE_RIDE)
SERIALIZER = TypeSerializer()


class CheckingStore:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def reserve(self, ride: Ride, request_hash: str) -> RideState:
        item = ride.to_item()
        wire = {key: SERIALIZER.serialize(value) for key, value in item.items()}  # raises on what DynamoDB refuses
        json.dumps(wire, default=str).encode("utf-8")  # strict UTF-8, as boto3 sends it
        for name in ("duration", "distance", "fare"):
            number = item[name]
            assert isinstance(number, Decimal) and number >= 0
            assert number == 0 or Decimal("1e-130") <= number < Decimal("1e126"), number
        for name in ("from", "to", "customer"):
            assert isinstance(item[name], str) and item[name].strip() and len(item[name]) <= 256
        self.items.append(item)
        return RideState.NEW

    def mark_published(self, ride_id: str, publication: Publication) -> None:
        pass


class CheckingPublisher:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def publish(self, ride: Ride) -> Publication:
        message = ride.to_message()
        assert len(message.encode("utf-8")) <= SNS_MAX_MESSAGE_BYTES
        assert Ride.model_validate_json(message) == ride  # subscribers read back the same ride
        for attribute in message_attributes(ride).values():
            number = Decimal(attribute["StringValue"])
            assert number == 0 or Decimal("1e-128") <= number < Decimal("1e126")
        self.messages.append(message)
        return Publication("message-id")


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
# JSON number text beyond what a Python float holds: long integers, tiny and huge exponents.
number_text = st.from_regex(r"-?(0|[1-9][0-9]{0,60})(\.[0-9]{1,45})?([eE][+-]?[0-9]{1,4})?", fullmatch=True)
# Finite numbers around and beyond what DynamoDB and SQS hold (1e-130 / 1e-128 to below 1e126).
edge_numbers = st.one_of(
    st.floats(min_value=1e100, max_value=1e308).map(repr), st.floats(min_value=1e-320, max_value=1e-100).map(repr),
    st.integers(min_value=10**120, max_value=10**130).map(str), st.integers(4000, 6000).map(lambda n: "7" * n))
# Strings a client might send for a number: plain decimals and near misses.
number_strings = st.from_regex(r"[ +-]?[0-9\u0660-\u0669]{0,6}(\.[0-9]{0,3})?([eE][0-9]{1,3})?[ ]?",
                               fullmatch=True) | \
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "0x10", "1_000", "", "899.99", "3000"])
texts = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)
field_text = st.one_of(
    json_values.map(json.dumps),
    number_text,
    edge_numbers,
    number_strings.map(json.dumps),
    texts.map(lambda t: json.dumps(t, ensure_ascii=False)),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "true", "null", "[]", "{}"]),
)


@st.composite
def ride_bodies(draw: st.DrawFn) -> str:
    """A ride-shaped object: each field mostly kept, else replaced, dropped or repeated; maybe an extra one."""
    parts = []
    for name in FIELDS:
        choice = draw(st.sampled_from(["keep"] * 7 + ["replace"] * 4 + ["drop", "repeat"]))
        valid = json.dumps(SAMPLE_RIDE[name])
        if choice == "keep":
            parts.append((name, valid))
        elif choice == "replace":
            parts.append((name, draw(field_text)))
        elif choice == "repeat":
            parts += [(name, draw(field_text)), (name, valid)]
    if draw(st.integers(0, 4)) == 0:
        parts.append((draw(st.text(max_size=10)), draw(field_text)))
    order = draw(st.permutations(range(len(parts))))
    return "{" + ",".join(f"{json.dumps(parts[i][0])}:{parts[i][1]}" for i in order) + "}"


bodies = st.one_of(ride_bodies(), json_values.map(json.dumps), texts, st.binary(max_size=200),
                   st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_any_body_is_201_or_400_and_nothing_invalid_is_stored(body: str | bytes) -> None:
    store, publisher = CheckingStore(), CheckingPublisher()
    response = submit_ride(body, None, store=store, publisher=publisher)
    assert response.status in (201, 400), response
    if response.status == 201:
        assert len(store.items) == 1 and len(publisher.messages) == 1
    else:
        assert store.items == [] and publisher.messages == []
        assert response.body["errors"], response.body
        for error in response.body["errors"]:
            assert isinstance(error["field"], str) and error["field"]
            assert isinstance(error["message"], str) and error["message"]
        json.dumps(response.body)  # the handler can always answer it
