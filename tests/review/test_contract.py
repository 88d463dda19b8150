"""The API contract: the ride model's JSON schemas of BASE and HEAD, and what counts as breaking."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from review.contract import compare_contracts, read_contract
from review.tools import ROOT


@pytest.fixture(scope="module")
def contract() -> dict:
    schemas, note = read_contract(ROOT, python=Path(sys.executable))
    assert note == ""
    return schemas


def test_the_contract_is_exported_from_the_ride_model(contract):
    assert set(contract) >= {"RideRequest", "Ride"}
    request = contract["RideRequest"]["accepts"]
    assert {"from", "to", "duration", "distance", "customer", "fare"} <= set(request["properties"])
    assert compare_contracts(contract, contract).breaking == ()


def test_a_field_removed_made_required_or_narrowed_is_breaking(contract):
    changed = copy.deepcopy(contract)
    request = changed["RideRequest"]["accepts"]
    del request["properties"]["fare"]
    request["properties"]["tip"] = {"type": "number"}
    request["required"].append("tip")
    request["properties"]["duration"] = {"type": "integer", "minimum": 0}
    request["properties"]["to"]["maxLength"] = 64
    changes = compare_contracts(contract, changed)
    assert set(changes.breaking) == {
        "`fare` removed (RideRequest accepts)", "`tip` added as required (RideRequest accepts)",
        "`duration` type narrowed: number -> integer (RideRequest accepts)",
        "`to` maxLength 256 -> 64 (RideRequest accepts)"}


def test_widening_what_is_accepted_is_compatible_but_not_what_is_produced(contract):
    changed = copy.deepcopy(contract)
    changed["RideRequest"]["accepts"]["properties"]["note"] = {"type": "string"}
    changed["RideRequest"]["accepts"]["properties"]["to"]["maxLength"] = 512
    changed["Ride"]["produces"]["required"].remove("id")
    changes = compare_contracts(contract, changed)
    assert changes.breaking == ("`id` no longer always present (Ride produces)",)
    assert set(changes.compatible) == {"`note` added (RideRequest accepts)",
                                       "`to` maxLength 256 -> 512 (RideRequest accepts)"}


def test_no_model_means_nothing_to_compare(tmp_path: Path):
    schemas, note = read_contract(tmp_path, python=Path(sys.executable))
    assert schemas is None and note == "no shared.ride model under lambdas/"
    assert compare_contracts(None, {}, note=note).note == note
