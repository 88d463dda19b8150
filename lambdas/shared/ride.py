"""The ride: the contract between the producer and every subscriber service.

Field names, types and the SNS message attributes are the workshop's (`from`, `to`,
`duration`, `distance`, `customer`, `fare`; attributes `fare` and `distance` of type Number).
Unknown fields are rejected, so a typo (`fair`) is a 400 instead of a silently lost value.

Every body gets a ride or an InvalidRide naming the field and the reason, never an exception:
JSON nested too deeply, duplicate keys, numbers no store can hold (JSON numbers are read exactly,
as Decimal, so a 5,001-digit integer is just out of range), text with nothing visible in it.
The workshop's own test event sends the numbers as strings ("899.99"): a plain decimal string is
accepted and becomes a number; anything else in a string ("NaN", "1e400", " 12") is not.
"""

from __future__ import annotations

import json
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# SNS rejects a publish whose message plus attributes exceed 256 KiB.
SNS_MAX_MESSAGE_BYTES = 262_144
MAX_TEXT_LENGTH = 256  # from, to, customer
NUMBER_ATTRIBUTES = ("fare", "distance")
# A number must fit both stores: DynamoDB (magnitude 1e-130 to below 1e126) and an SQS/SNS Number
# attribute (1e-128 to 1e126), checked on the float that is stored and published.
MIN_MAGNITUDE, MAX_MAGNITUDE = 1e-128, 1e126
# A number sent as a string: digits as JSON writes them, optional fraction; no sign but "-" (so that
# "-5" is "must be >= 0"), no exponent, no spaces, ASCII digits only.
PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?", re.ASCII)
MAX_FIELD_NAME_LENGTH = 64  # an unknown field's name is echoed in the 400, cut to this length

__all__ = ["InvalidRide", "Ride", "RideRequest", "message_attributes", "parse_ride_request"]


def _number(value: Any) -> float:
    """A JSON number (read as Decimal), a float, or a plain decimal string -> a storable float."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    if isinstance(value, str):
        if not PLAIN_DECIMAL.fullmatch(value):
            raise ValueError('must be a JSON number, or a string holding a plain decimal number such as "899.99"')
        value = Decimal(value)
    if not isinstance(value, (int, float, Decimal)):
        raise ValueError("must be a JSON number")
    try:
        exact = Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(repr(value))
    except InvalidOperation as error:  # float nan/inf given in Python (JSON bodies cannot carry them)
        raise ValueError("must be a finite number") from error
    number = float(exact) if exact.is_finite() else float("inf")
    if exact == 0:
        return 0.0  # also -0
    if not MIN_MAGNITUDE <= abs(number) < MAX_MAGNITUDE:
        raise ValueError(f"out of range: must be 0 or from {MIN_MAGNITUDE:g} to below {MAX_MAGNITUDE:g} "
                         "(what DynamoDB can store)")
    return number


def _text(value: str) -> str:
    categories = [unicodedata.category(character) for character in value]
    if "Cs" in categories:
        raise ValueError("is not valid Unicode (a lone surrogate)")
    if "Cc" in categories:
        raise ValueError("must not contain control characters (such as a newline)")
    if all(category[0] in "ZC" for category in categories):  # spaces, zero-width and format characters
        raise ValueError("must not be blank: it needs a visible character")
    return value


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
    def _visible_text(cls, value: str) -> str:
        return _text(value)

    @field_validator("duration", "distance", "fare", mode="before")
    @classmethod
    def _storable_number(cls, value: Any) -> float:
        return _number(value)


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
    return _short(".".join(names) or "body")


def _short(name: str) -> str:
    return name if len(name) <= MAX_FIELD_NAME_LENGTH else name[:MAX_FIELD_NAME_LENGTH] + "…"


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object hook: a key given twice is an error ("fare":-1,"fare":5 must not become 5)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _body_error(message: str) -> InvalidRide:
    return InvalidRide([{"field": "body", "message": message}])


def parse_ride_request(body: str | bytes | None) -> RideRequest:
    """Parse and validate a request body; raise InvalidRide naming every bad field."""
    if body is None or body == "" or body == b"":
        raise _body_error("a JSON object is required")
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if len(raw) > SNS_MAX_MESSAGE_BYTES:
        raise _body_error(f"{len(raw)} bytes is over the limit of {SNS_MAX_MESSAGE_BYTES} bytes")
    try:  # numbers exactly as sent (no float rounding, no int digit limit); the model checks them
        data = json.loads(raw, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant,
                          object_pairs_hook=_unique_keys)
    except _DuplicateKey as duplicate:
        raise InvalidRide([{"field": _short(duplicate.key), "message": "appears more than once in the body"}]) from None
    except RecursionError:
        raise _body_error("not valid JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, NaN/Infinity
        raise _body_error(f"not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise _body_error("must be a JSON object")
    try:
        return RideRequest.model_validate(data)
    except ValidationError as error:
        problems = [{"field": _field_name(e["loc"]), "message": e["msg"].removeprefix("Value error, ")}
                    for e in error.errors()]
        raise InvalidRide(problems) from error


def message_attributes(ride: RideRequest) -> dict[str, dict[str, str]]:
    """The workshop's SNS message attributes: fare and distance as Number (filterable)."""
    return {name: {"DataType": "Number", "StringValue": repr(float(getattr(ride, name)))}
            for name in NUMBER_ATTRIBUTES}
