"""Extraordinary rides: a record of each long, expensive ride (the subscription filter selects them)."""

from decimal import Decimal
from typing import Any

from shared.ride import Ride


def extraordinary_ride(ride: Ride) -> dict[str, Any]:
    return {
        "customer": ride.customer,
        "fare": Decimal(str(ride.fare)),
        "distance": Decimal(str(ride.distance)),
        "route": f"{ride.from_} -> {ride.to}",
    }
