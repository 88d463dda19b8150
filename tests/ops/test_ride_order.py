"""The order check: a customer's charge applied after one of that customer accepted later is out of order."""

from ops.ride_order import check_order


def test_charges_in_the_order_accepted_are_in_order_whatever_other_customers_do():
    positions = {"a1": ("ana", 1), "a2": ("ana", 2), "b1": ("bo", 2), "b2": ("bo", 1)}
    accepted = {"a1": 10, "a2": 20, "b1": 15, "b2": 16}
    check = check_order(positions, accepted)
    assert (check.customers, check.entries) == (2, 4)
    assert check.out_of_order == 1 and check.examples == [{"customer": "bo", "ride": "b1", "applied_after": "b2"}]


def test_a_retried_ride_applied_after_the_two_behind_it_counts_once_per_early_charge():
    positions = {"r1": ("c", 3), "r2": ("c", 1), "r3": ("c", 2)}
    check = check_order(positions, {"r1": 1, "r2": 2, "r3": 3})
    assert check.out_of_order == 1 and check.examples[0]["ride"] == "r1"


def test_rides_without_an_acceptance_time_or_a_position_are_left_out():
    check = check_order({"r1": ("c", 1), "old": ("c", 2)}, {"r1": 5, "new": 6})
    assert (check.entries, check.out_of_order) == (1, 0)
