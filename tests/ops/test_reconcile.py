"""Reconciliation arithmetic: expected, processed, in DLQ, lost, astray; per-customer balances."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console

from ops.reconcile import Reconciliation, check_accounts, reconcile_service
from ops.run_views import reconciliation_table
from ops.services import Service

SERVICE = Service("Billing", queue_url="https://sqs/1/q")


def test_each_ride_is_processed_in_a_dlq_lost_or_astray():
    accepted = {"a", "b", "c", "d", "e"}
    row = reconcile_service(SERVICE, expected={"a", "b", "c", "d"}, processed={"a", "b", "e", "old"}, dead={"c"},
                            poison=2, accepted=accepted)
    assert (row.expected, row.processed, row.in_dlq, row.poison) == (4, 3, 1, 2)
    assert (row.lost, row.lost_ids) == (1, ["d"])
    assert (row.astray, row.astray_ids) == (1, ["e"])
    assert not row.ok


def test_an_unknown_filter_measures_against_what_arrived():
    row = reconcile_service(SERVICE, expected=None, processed={"a"}, dead={"b"}, poison=0, accepted={"a", "b", "c"})
    assert (row.expected, row.lost, row.astray, row.ok) == (None, 0, 0, True)


def accepted(*rides: tuple[str, str, float]) -> dict[str, dict]:
    return {rid: {"id": rid, "customer": customer, "fare": fare, "distance": 1.0} for rid, customer, fare in rides}


RIDES = accepted(("a", "ana", 10.1), ("b", "ana", 20.2), ("c", "bo", 5.0))
LEDGER = {"a": ("ana", Decimal("10.1")), "b": ("ana", Decimal("20.2")), "c": ("bo", Decimal("5.0"))}


def test_balances_that_are_the_sum_of_their_rides_pass():
    check = check_accounts(RIDES, set(RIDES), LEDGER, {"ana": (Decimal("30.3"), 2), "bo": (Decimal("5"), 1)})
    assert check.ok and (check.customers, check.charged_rides) == (2, 3)


def test_a_double_charge_is_named_with_the_customer_and_the_ride():
    # the ledger holds one entry per ride (a rewrite is invisible there); the balance holds b twice
    check = check_accounts(RIDES, set(RIDES), LEDGER, {"ana": (Decimal("50.5"), 3), "bo": (Decimal("5"), 1)})
    [problem] = check.double_charges
    assert (problem.customer, problem.balance, problem.expected_balance, problem.rides, problem.expected_rides,
            problem.ride_ids) == ("ana", "50.5", "30.3", 3, 2, ["b"])
    assert not check.missed_charges and not check.ok


def test_a_missed_charge_is_named_and_a_ride_in_a_dlq_is_not_one():
    ledger = {k: v for k, v in LEDGER.items() if k != "c"}
    check = check_accounts(RIDES, {"a", "b"}, ledger, {"ana": (Decimal("30.3"), 2)})  # c in a DLQ: not due yet
    assert check.ok
    check = check_accounts(RIDES, set(RIDES), ledger, {"ana": (Decimal("30.3"), 2)})  # c lost: never charged
    [problem] = check.missed_charges
    assert (problem.customer, problem.balance, problem.expected_balance, problem.ride_ids) == ("bo", "0", "5.0", ["c"])
    # charged in the ledger but not in the account (two separate writes and a crash between them)
    check = check_accounts(RIDES, set(RIDES), LEDGER, {"ana": (Decimal("10.1"), 1), "bo": (Decimal("5"), 1)})
    assert [(p.customer, p.ride_ids) for p in check.missed_charges] == [("ana", ["b"])]


def test_a_redelivery_that_rewrote_the_amount_is_named_and_earlier_runs_count_from_the_ledger():
    ledger = {**LEDGER, "b": ("ana", Decimal("99")), "old": ("ana", Decimal("1"))}
    check = check_accounts(RIDES, set(RIDES), ledger, {"ana": (Decimal("130.1"), 4), "bo": (Decimal("5"), 1)})
    [problem] = check.double_charges
    assert (problem.expected_balance, problem.expected_rides, problem.ride_ids) == ("31.3", 3, ["b"])
    assert check_accounts(RIDES, set(RIDES), {**LEDGER, "old": ("ana", Decimal("1"))},
                          {"ana": (Decimal("31.3"), 3), "bo": (Decimal("5"), 1)}).ok


def test_the_table_names_each_customer_charged_twice():
    row = reconcile_service(SERVICE, expected={"a"}, processed={"a"}, dead=set(), poison=0, accepted={"a"})
    row.accounts = check_accounts(RIDES, set(RIDES), LEDGER, {"ana": (Decimal("50.5"), 3), "bo": (Decimal("5"), 1)})
    result = Reconciliation(accepted=3, services=[row], rides_status={"PUBLISHED": 3})
    console = Console(record=True, width=200)
    console.print(reconciliation_table(result))
    text = console.export_text()
    assert "DOUBLE charge: customer 'ana' balance 50.5 for 3 rides, expected 30.3 for 2; rides: b" in text
    assert not result.ok and result.as_dict()["services"][0]["accounts"]["double_charges"][0]["ride_ids"] == ["b"]
