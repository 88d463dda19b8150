"""Customer accounting: one ledger entry charging the customer the ride's fare, and the customer's account.

The entry and the account's update (`balance` += fare, `rides` += 1) commit in one DynamoDB transaction,
conditional on the entry not existing (shared/effects.py, DynamoLedgerStore): a redelivered ride charges
nothing, and a crash cannot leave an entry without its charge or a charge without its entry. Money is a
Decimal from the fare's shortest decimal form (256.5, never 256.49999999999997), added exactly by DynamoDB.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from shared.ride import Ride


def ledger_entry(ride: Ride) -> dict[str, Any]:
    return {"customer": ride.customer, "entryType": "CHARGE", "amount": Decimal(str(ride.fare))}


def accounts_table_name(environ: dict[str, str] | None = None) -> str:
    name = (os.environ if environ is None else environ).get("ACCOUNTS_TABLE_NAME", "")
    if not name:
        raise RuntimeError("ACCOUNTS_TABLE_NAME is not set: the stack sets it on a service with accountsTable: true")
    return name
