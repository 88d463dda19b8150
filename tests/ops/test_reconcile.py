"""Reconciliation arithmetic: expected, processed, in DLQ, lost, astray."""

from __future__ import annotations

from ops.reconcile import reconcile_service
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
