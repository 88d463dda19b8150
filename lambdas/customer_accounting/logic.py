"""Customer accounting: one ledger entry charging the customer the ride's fare."""

from decimal import Decimal
from typing import Any

from shared.ride import Ride


def ledger_entry(ride: Ride) -> dict[str, Any]:
    return {"customer": ride.customer, "entryType": "CHARGE", "amount": Decimal(str(ride.fare))}
