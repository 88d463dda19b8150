"""The ride: the contract between the producer and every subscriber service.

Field names, types and the SNS message attributes are the workshop's (`from`, `to`,
`duration`, `distance`, `customer`, `fare`; attributes `fare` and `distance` of type Number).
Unknown fields are rejected, so a typo (`fair`) is a 400 instead of a silently lost value.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# SNS rejects a publish whose message plus attributes exceed 256 KiB.
SNS_MAX_MESSAGE_BYTES = 262_144
MAX_TEXT_LENGTH = 256  # from, to, customer
NUMBER_ATTRIBUTES = ("fare", "distance")

__all__ = ["InvalidRide", "Ride", "RideRequest", "message_attributes", "parse_ride_request"]


class RideRequest(BaseModel):
    """What a client posts to /submit-ride-completion."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    from_: str = Field(alias="from", min_length=1, max_length=MAX_TEXT_LENGTH)
    to: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    duration: float = Field(ge=0, allow_inf_nan=False)
    distance: float = Field(ge=0, allow_inf_nan=False)
    customer: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    fare: float = Field(ge=0, allow_inf_nan=False)

    @field_validator("from_", "to", "customer")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("duration", "distance", "fare", mode="before")
    @classmethod
    def _number_not_text(cls, value: Any) -> Any:
        # "12" or true would be coerced by pydantic; the contract is a JSON number.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a JSON number")
        return value


class Ride(RideRequest):
    """A ride as stored and published: the request plus the id the producer gave it."""

    id: str = Field(min_length=1, max_length=64)

    def to_message(self) -> str:
        return json.dumps(self.model_dump(by_alias=True), separators=(",", ":"))

    def to_item(self) -> dict[str, Any]:
        """DynamoDB item: numbers as Decimal, as boto3's resource layer wants them."""
        return json.loads(self.to_message(), parse_float=Decimal, parse_int=Decimal)


class InvalidRide(ValueError):
    """The request cannot become a ride; `errors` says which field and why."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def _field_name(loc: tuple[Any, ...]) -> str:
    names = ["from" if part == "from_" else str(part) for part in loc]
    return ".".join(names) or "body"


def parse_ride_request(body: str | bytes | None) -> RideRequest:
    """Parse and validate a request body; raise InvalidRide naming every bad field."""
    if body is None or body == "" or body == b"":
        raise InvalidRide([{"field": "body", "message": "a JSON object is required"}])
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > SNS_MAX_MESSAGE_BYTES:
        raise InvalidRide([{"field": "body", "message": f"{len(raw)} bytes is over the limit of "
                            f"{SNS_MAX_MESSAGE_BYTES} bytes"}])
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidRide([{"field": "body", "message": f"not valid JSON: {error}"}]) from error
    if not isinstance(data, dict):
        raise InvalidRide([{"field": "body", "message": "must be a JSON object"}])
    try:
        return RideRequest.model_validate(data)
    except ValidationError as error:
        problems = [{"field": _field_name(e["loc"]), "message": e["msg"]} for e in error.errors()]
        raise InvalidRide(problems) from error


def message_attributes(ride: RideRequest) -> dict[str, dict[str, str]]:
    """The workshop's SNS message attributes: fare and distance as Number (filterable)."""
    return {name: {"DataType": "Number", "StringValue": repr(float(getattr(ride, name)))}
            for name in NUMBER_ATTRIBUTES}
