"""Submit a ride completion: validate, store, publish, answer.

A 201 means the ride reached the topic: the ride is stored (status PENDING), published, then
marked PUBLISHED, and only then answered. If the publish fails the client gets a 503 and retries.
With an `Idempotency-Key` header the retry maps to the same ride id: a ride already published is
answered 201 again without a second publish; a PENDING one is published now. Subscribers key on
the ride id, so even a publish repeated by a race has no second effect.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from shared.observability import logger, metrics
from shared.ride import InvalidRide, Ride, parse_ride_request
from shared.ride_store import IdempotencyConflict, RidePublisher, RideState, RideStore

IDEMPOTENCY_NAMESPACE = uuid.UUID("5f0e7a52-57a1-4c8e-9a8e-0d1c2b3a4f50")
# One per ride this request leaves PENDING; the stack alarms on it (stacks/unicorn_management.py).
RIDES_LEFT_PENDING_METRIC = "RidesLeftPending"
MAX_IDEMPOTENCY_KEY_LENGTH = 128
AWS_ERRORS = (ClientError, BotoCoreError)


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


def bad_request(field: str, message: str) -> Response:
    return Response(400, {"message": "invalid ride", "errors": [{"field": field, "message": message}]})


def ride_id_for(idempotency_key: str | None, new_id: Callable[[], str]) -> str:
    if idempotency_key is None:
        return new_id()
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, idempotency_key))


def submit_ride(body: str | bytes | None, idempotency_key: str | None, *, store: RideStore,
                publisher: RidePublisher, new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> Response:
    try:
        request = parse_ride_request(body)
    except InvalidRide as invalid:
        return Response(400, {"message": "invalid ride", "errors": invalid.errors})
    if idempotency_key is not None and not (
            0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH and idempotency_key.isprintable()):
        return bad_request("Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable characters")

    ride = Ride(**request.model_dump(), id=ride_id_for(idempotency_key, new_id))
    request_hash = hashlib.sha256(json.dumps(request.model_dump(by_alias=True), sort_keys=True).encode()).hexdigest()
    logger.append_keys(ride_id=ride.id)
    try:
        try:
            state = store.reserve(ride, request_hash)
        except IdempotencyConflict:
            return Response(409, {"message": "this Idempotency-Key was used for a different ride", "id": ride.id})
        except AWS_ERRORS:
            logger.exception("could not store the ride; nothing was published")
            return Response(503, {"message": "the ride could not be stored; nothing was recorded, retry"})
        if state is RideState.PUBLISHED:
            logger.info("repeated request for a published ride")
            return Response(201, {"id": ride.id})
        try:
            publication = publisher.publish(ride)
        except AWS_ERRORS:
            logger.exception("could not publish the ride", extra={"state": state.value})
            _left_pending()
            return Response(503, {"id": ride.id, "message": (
                "the ride was not published; retry the request (send an Idempotency-Key header so a "
                "retry cannot create a second ride)")})
        try:
            store.mark_published(ride.id, publication)
        except AWS_ERRORS:  # the ride reached the topic: the 201 stands, the status stays PENDING
            logger.exception("published, but could not mark the ride PUBLISHED")
            _left_pending()
        logger.info("ride published", extra={"message_id": publication.message_id})
        return Response(201, {"id": ride.id})
    finally:
        logger.remove_keys(["ride_id"])


def _left_pending() -> None:
    metrics.add_metric(name=RIDES_LEFT_PENDING_METRIC, unit=MetricUnit.Count, value=1)
