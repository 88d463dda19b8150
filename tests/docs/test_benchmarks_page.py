"""The benchmarks page draws the load run from its result file: on a made-up timeline the charts hold exactly
its values, a result without a timeline is refused with what to run, and the committed page is what the
generator writes from the committed result (so a figure on the page cannot drift from its file)."""

from __future__ import annotations

import json
import re

import pytest

from scripts import benchmarks_page
from scripts.benchmarks_page import GENERATED, RESULT, TABLE, TIMELINE, NoTimeline, render_table, render_timeline

COMMITTED = json.loads(RESULT.read_text())


def _sample(seconds: float, accepted: int, a: tuple[int, int, int], b: tuple[int, int, int]) -> dict:
    return {"seconds": seconds, "accepted": accepted, "services": {
        name: {"queue": queue, "dlq": dlq, "subscription": subscription}
        for name, (queue, dlq, subscription) in (("Beta", b), ("Alpha", a))}}


MADE_UP = {"rides": 40, "clients": 2, "timeline": {"every_seconds": 2, "samples": [
    _sample(0.0, 0, (0, 0, 0), (0, 0, 0)),
    _sample(2.0, 20, (7, 0, 0), (3, 0, 0)),
    _sample(4.0, 40, (9, 1, 0), (2, 0, 1)),
    _sample(5.0, 40, (0, 2, 0), (0, 0, 1))]}}


def _charts(markdown: str) -> list[dict[str, object]]:
    charts = []
    for block in re.findall(r"```mermaid\n(.*?)```", markdown, re.S):
        charts.append({"title": re.search(r'title "(.*)"', block)[1],
                       "x_axis": re.search(r"x-axis (.*)", block)[1],
                       "palette": re.search(r'plotColorPalette: "(.*)"', block)[1],
                       "lines": [[float(v) for v in line.split(", ")] for line in re.findall(r"line \[(.*)\]", block)]})
    return charts


def test_the_charts_hold_the_timeline_s_values_per_service_in_name_order():
    rides, queues, dead_letters = _charts(render_timeline(MADE_UP))
    assert rides["title"] == "Rides accepted per second (40 rides, 2 clients)"
    assert rides["lines"] == [[0, 10, 10, 0]]  # 20 rides in each 2 s, then none
    assert queues["x_axis"] == dead_letters["x_axis"] == '"seconds since the first send" 0 --> 5'
    assert queues["lines"] == [[0, 7, 9, 0], [0, 3, 2, 0]]  # Alpha, then Beta
    assert dead_letters["lines"] == [[0, 0, 1, 2], [0, 0, 1, 1]]  # a service's DLQ and subscription DLQ summed
    assert queues["palette"] == "#1f77b4, #d62728"
    legend = '<span style="color: #1f77b4">■</span> Alpha · <span style="color: #d62728">■</span> Beta'
    assert render_timeline(MADE_UP).count(legend) == 2


def test_a_long_timeline_is_drawn_at_evenly_spaced_samples_from_first_to_last():
    samples = [_sample(n * 3.0, n, (n, 0, 0), (0, 0, 0)) for n in range(200)]
    [rides, queues, _] = _charts(render_timeline({**MADE_UP, "timeline": {"every_seconds": 3, "samples": samples}}))
    [alpha, _] = queues["lines"]
    assert len(alpha) == benchmarks_page.POINTS
    assert (alpha[0], alpha[-1]) == (0, 199)
    assert alpha == sorted(set(alpha))  # no sample drawn twice
    assert set(rides["lines"][0][1:]) == {0.3}  # one ride every 3 s, to one decimal


@pytest.mark.parametrize("timeline", [None, {"every_seconds": 3, "samples": []}])
def test_a_result_without_a_timeline_is_refused_naming_what_to_run(tmp_path, timeline, capsys):
    result = tmp_path / "old.json"
    result.write_text(json.dumps({**COMMITTED, "timeline": timeline}))
    with pytest.raises(NoTimeline, match=r"no timeline .* run `python -m bench.local_cloud_load`, then "
                                         r"`python -m scripts.benchmarks_page`"):
        render_timeline(json.loads(result.read_text()), result)
    assert benchmarks_page.main(["--result", str(result), "--output-dir", str(tmp_path / "out")]) == 2
    assert "error: " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing half written


def test_it_writes_the_table_and_the_charts_from_a_result_with_a_timeline(tmp_path):
    result = tmp_path / "new.json"
    result.write_text(json.dumps({**COMMITTED, **MADE_UP, "rides": COMMITTED["rides"]}))
    assert benchmarks_page.main(["--result", str(result), "--output-dir", str(tmp_path)]) == 0
    assert (tmp_path / TABLE).read_text() == render_table(json.loads(result.read_text()), result)
    assert len(_charts((tmp_path / TIMELINE).read_text())) == 3


def test_the_committed_table_is_what_the_generator_writes_from_the_committed_result():
    assert (GENERATED / TABLE).read_text() == render_table(COMMITTED), (
        "docs/generated/local_cloud_load.md differs from bench/results/local_cloud_load.json: run "
        "`python -m scripts.benchmarks_page`")
    assert f"| rides sent | {COMMITTED['rides']:,} in " in render_table(COMMITTED)


@pytest.mark.skipif(not COMMITTED.get("timeline"), reason=(
    "bench/results/local_cloud_load.json was recorded before the bench sampled a timeline (bench/timeline.py): "
    "this checks the charts once `python -m bench.local_cloud_load` has run again"))
def test_the_committed_charts_are_what_the_generator_draws_from_the_committed_result():
    assert (GENERATED / TIMELINE).read_text() == render_timeline(COMMITTED), (
        "docs/generated/local_cloud_load_timeline.md differs from bench/results/local_cloud_load.json: run "
        "`python -m scripts.benchmarks_page`")
