"""`make bench`'s start/stop/burst benchmark runs through: a start, two bursts, a Ctrl-C, a Ctrl-C under load,
one result file.

It once called the load benchmark's start with an old signature and failed at its first line, unseen
until the next `make bench`; one small run here keeps it working (the figures are `make bench`'s).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import local_cloud_lifecycle


def test_one_small_run_writes_its_result(cloud_assembly: Path, tmp_path: Path):
    output = tmp_path / "lifecycle.json"
    assert local_cloud_lifecycle.main(["--runs", "1", "--burst", "5", "--cdk-out", str(cloud_assembly),
                                       "--output", str(output)]) == 0
    result = json.loads(output.read_text())
    assert result["command"] == "python -m bench.local_cloud_lifecycle --runs 1 --burst 5"
    assert result["burst_statuses"] == {"201": 10}  # two bursts of five, every ride taken
    assert result["ready_seconds"]["all"][0] > 0 and result["stop_seconds"]["all"][0] > 0
    under_load = result["stop_under_load_seconds"]
    assert under_load["all"][0] > 0 and under_load["rides_taken"][0] > 0  # stopped while rides were being taken
