"""`wildrydes pause | resume | mappings`: the Lambda API calls an operator makes, local as on AWS."""

from __future__ import annotations

import json

from tests.factories import SAMPLE_RIDE
from tests.local.conftest import effect_ids, post_ride, wait_for
from tests.ops.conftest import run_cli

SERVICE = "CustomerAccounting"


def test_pause_holds_rides_in_the_queue_and_resume_drains_it(cloud, endpoints):
    # When the service is paused
    paused = run_cli(endpoints, "pause", SERVICE, "--json")
    assert paused.exit_code == 0 and paused.exception is None, paused.output
    assert [(s["service"], s["state"]) for s in json.loads(paused.output)] == [(SERVICE, "Disabled")]
    # Then its rides wait, while every other service is listed enabled
    ride_ids = [post_ride(cloud.outputs["ApiUrl"], SAMPLE_RIDE)[1]["id"] for _ in range(5)]
    wait_for(lambda: set(ride_ids) <= effect_ids(cloud, "CustomerNotification"), what="the other services")
    listed = {s["service"]: s["state"] for s in json.loads(run_cli(endpoints, "mappings", "--json").output)}
    assert listed == {"CustomerAccounting": "Disabled", "CustomerNotification": "Enabled",
                      "ExtraordinaryRides": "Enabled"}
    assert not set(ride_ids) & effect_ids(cloud, SERVICE)
    # When it is resumed, they are processed
    resumed = run_cli(endpoints, "resume", SERVICE)
    assert resumed.exit_code == 0 and resumed.exception is None, resumed.output
    assert "Enabled" in resumed.output
    wait_for(lambda: set(ride_ids) <= effect_ids(cloud, SERVICE), what="the held rides processed")


def test_an_unknown_service_is_one_line_naming_the_known_ones(endpoints):
    result = run_cli(endpoints, "pause", "Nope")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # an exit, not a crash
    assert "no service Nope" in result.output and "CustomerAccounting" in result.output
