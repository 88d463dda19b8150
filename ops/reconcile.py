"""Account for every accepted ride in every service: processed once, in a DLQ, lost, or astray.

Given the rides the API accepted (id, fare, distance), per service:
- expected: rides its deployed filter policy lets through (ops/filters.py; None if the policy uses
  an operator the reader does not know, and then lost/astray are measured against what arrived);
- processed: rides in its effect table (the write is conditional on the ride id: at most once);
- in DLQ: rides in its DLQ or subscription DLQ; poison: DLQ messages that carry no accepted ride;
- lost: expected but neither processed nor in a DLQ; astray: processed or dead-lettered, not expected.
Plus the Rides table's status counts (PENDING rides never reached the topic: `rides republish`).

A service that keeps per-customer accounts (`<Service>AccountsTableName`: each account's `balance` and
`rides`, charged in one transaction with the ride's entry in the service's table, its ledger) is also
checked per customer: the balance must be the sum of the fares of that customer's rides that should be
charged (accepted, let through by the filter, not waiting in a DLQ), plus the ledger's entries of rides
not in this reconciliation (earlier runs on the same stack), and `rides` their count. More is a double
charge, less a missed charge; each is named with the customer and the rides that explain it: a ride
missing from the ledger, a ride charged another amount than accepted, or else the customer's rides whose
fare is the difference. A duplicate delivery that got past the ledger entry's condition shows here,
where counting items per ride id cannot see it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from ops.dlq import list_dead_letters
from ops.filters import deployed_subscriptions
from ops.ride_order import OrderCheck, accepted_at, check_order, ledger_positions
from ops.services import Service

SAMPLE = 5  # ids shown per problem


@dataclass
class ChargeProblem:
    """One customer whose account is off: charged more (double) or less (missed) than its rides."""

    customer: str
    kind: str  # "double" or "missed"
    balance: str  # exact decimal, as DynamoDB holds it
    expected_balance: str
    rides: int
    expected_rides: int
    ride_ids: list[str] = field(default_factory=list)  # the rides that explain the difference, where known


@dataclass
class AccountsCheck:
    customers: int  # accounts checked
    charged_rides: int  # accepted rides that should be charged
    double_charges: list[ChargeProblem] = field(default_factory=list)
    missed_charges: list[ChargeProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.double_charges and not self.missed_charges


@dataclass
class ServiceReconciliation:
    service: str
    expected: int | None
    processed: int
    in_dlq: int
    poison: int
    lost: int
    astray: int
    lost_ids: list[str] = field(default_factory=list)
    astray_ids: list[str] = field(default_factory=list)
    accounts: AccountsCheck | None = None  # services that keep per-customer accounts
    order: OrderCheck | None = None  # the same services: charges in each customer's order? (not part of ok)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.astray == 0 and (self.accounts is None or self.accounts.ok)


@dataclass
class Reconciliation:
    accepted: int
    services: list[ServiceReconciliation]
    rides_status: dict[str, int]  # status -> accepted rides with it in the Rides table

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.services)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def table_ride_ids(dynamodb: Any, table: str) -> set[str]:
    ids = set()
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="rideId"):
        ids.update(item["rideId"]["S"] for item in page["Items"])
    return ids


def rides_status(dynamodb: Any, table: str, ids: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="id, #s",
                                                        ExpressionAttributeNames={"#s": "status"}):
        for item in page["Items"]:
            if item["id"]["S"] in ids:
                status = item.get("status", {}).get("S", "?")
                counts[status] = counts.get(status, 0) + 1
    missing = len(ids) - sum(counts.values())
    return {**counts, **({"missing": missing} if missing else {})}


def reconcile_service(service: Service, expected: set[str] | None, processed: set[str], dead: set[str],
                      poison: int, accepted: set[str]) -> ServiceReconciliation:
    arrived = (processed | dead) & accepted
    should = arrived if expected is None else expected
    lost = sorted(should - processed - dead)
    astray = sorted(arrived - should)
    return ServiceReconciliation(service=service.name, expected=None if expected is None else len(expected),
                                 processed=len(processed & accepted), in_dlq=len(dead & accepted), poison=poison,
                                 lost=len(lost), astray=len(astray), lost_ids=lost[:SAMPLE], astray_ids=astray[:SAMPLE])


def ride_arrived(ride_id: str, processed: set[str], dead: set[str]) -> bool:
    return ride_id in processed or ride_id in dead


def money(fare: Any) -> Decimal:
    """A fare as the accounting consumer charges it: the float's shortest decimal form, exactly."""
    return Decimal(str(float(fare)))


def ledger_entries(dynamodb: Any, table: str) -> dict[str, tuple[str, Decimal]]:
    """rideId -> (customer, amount) of every ledger entry."""
    entries = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True,
                                                        ProjectionExpression="rideId, customer, amount"):
        for item in page["Items"]:
            entries[item["rideId"]["S"]] = (item.get("customer", {}).get("S", "?"),
                                            Decimal(item.get("amount", {}).get("N", "0")))
    return entries


def account_balances(dynamodb: Any, table: str) -> dict[str, tuple[Decimal, int]]:
    """customer -> (balance, rides) of every account."""
    accounts = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            accounts[item["customer"]["S"]] = (Decimal(item.get("balance", {}).get("N", "0")),
                                               int(item.get("rides", {}).get("N", "0")))
    return accounts


def check_accounts(accepted: Mapping[str, Mapping[str, Any]], charged: set[str],
                   ledger: Mapping[str, tuple[str, Decimal]],
                   accounts: Mapping[str, tuple[Decimal, int]]) -> AccountsCheck:
    """Each account against the rides that should be charged to it (see the module's docstring)."""
    expected: dict[str, list[Decimal | int]] = {customer: [Decimal(0), 0] for customer in accounts}
    rides_of: dict[str, list[str]] = {}
    explained: dict[str, list[str]] = {}  # customer -> rides known to be wrong
    for ride_id, (customer, amount) in ledger.items():
        if ride_id not in accepted:  # an earlier run's ride: the ledger's word is all there is
            totals = expected.setdefault(customer, [Decimal(0), 0])
            totals[0] += amount
            totals[1] += 1
    for ride_id in sorted(charged):
        ride = accepted[ride_id]
        customer = str(ride.get("customer") or ledger.get(ride_id, ("?",))[0])
        fare = money(ride["fare"])
        totals = expected.setdefault(customer, [Decimal(0), 0])
        totals[0] += fare
        totals[1] += 1
        rides_of.setdefault(customer, []).append(ride_id)
        if ride_id not in ledger or ledger[ride_id][1] != fare:
            explained.setdefault(customer, []).append(ride_id)
    check = AccountsCheck(customers=len(expected), charged_rides=len(charged))
    for customer, (balance_expected, rides_expected) in sorted(expected.items()):
        balance, rides = accounts.get(customer, (Decimal(0), 0))
        difference, extra = balance - Decimal(balance_expected), rides - int(rides_expected)
        if difference == 0 and extra == 0:
            continue
        kind = "double" if extra > 0 or (extra == 0 and difference > 0) else "missed"
        named = explained.get(customer) or [
            ride_id for ride_id in rides_of.get(customer, [])
            if abs(extra) <= 1 and money(accepted[ride_id]["fare"]) == abs(difference)]
        problem = ChargeProblem(customer=customer, kind=kind, balance=str(balance),
                                expected_balance=str(balance_expected), rides=rides,
                                expected_rides=int(rides_expected), ride_ids=named[:SAMPLE])
        (check.double_charges if kind == "double" else check.missed_charges).append(problem)
    return check


def reconcile(target: Any, rides: Iterable[Mapping[str, Any]], *, dlq_limit: int = 10_000) -> Reconciliation:
    accepted = {str(r["id"]): r for r in rides}
    ids = set(accepted)
    dynamodb = target.client("dynamodb")
    subscriptions = deployed_subscriptions(target)
    rows = []
    table = target.outputs.get("RidesTableName")
    times: dict[str, int] | None = None
    for service in target.services:
        verdicts = {rid: subscriptions[service.name].expects(ride) for rid, ride in accepted.items()}
        expected = None if None in verdicts.values() else {rid for rid, verdict in verdicts.items() if verdict}
        processed = table_ride_ids(dynamodb, service.table_name) if service.table_name else set()
        letters = list_dead_letters(target, [service], limit=dlq_limit)
        dead = {letter.ride_id for letter in letters if letter.ride_id in ids}
        poison = sum(letter.ride_id not in ids for letter in letters)
        row = reconcile_service(service, expected, processed, dead, poison, ids)
        accounts_table = getattr(service, "accounts_table_name", None)
        if accounts_table and service.table_name:
            charged = ({rid for rid in ids if ride_arrived(rid, processed, dead)} if expected is None
                       else expected) - dead
            row.accounts = check_accounts(accepted, charged, ledger_entries(dynamodb, service.table_name),
                                          account_balances(dynamodb, accounts_table))
            if table:
                times = accepted_at(dynamodb, table, ids) if times is None else times
                row.order = check_order(ledger_positions(dynamodb, service.table_name), times)
        rows.append(row)
    status = rides_status(dynamodb, table, ids) if table else {}
    return Reconciliation(accepted=len(ids), services=rows, rides_status=status)
