"""Customer notification: the message the customer receives about a completed ride."""

from typing import Any

from shared.ride import Ride


def notification(ride: Ride) -> dict[str, Any]:
    return {
        "customer": ride.customer,
        "message": (f"Thanks for riding with Wild Rydes, {ride.customer}: {ride.from_} to {ride.to}, "
                    f"{ride.distance:g} km in {ride.duration:g} min, fare {ride.fare:.2f}."),
    }
