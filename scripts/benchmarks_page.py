"""The benchmarks page's figures of the 10,000-ride run, written from its result file, never typed by hand.

    python -m scripts.benchmarks_page [--result bench/results/local_cloud_load.json] [--output-dir docs/generated]

writes two Markdown files that docs/benchmarks.md includes: local_cloud_load.md, the table of the run's
configurations side by side, and local_cloud_load_timeline.md, Mermaid `xychart-beta` charts of rides
accepted per second and the messages in each service's queue and DLQs over the run (the result's
"timeline", which bench/timeline.py samples). tests/docs checks that both committed files are what this
writes from the committed result, so the page cannot drift from the file. A result recorded before the
sampler existed has no timeline: then this writes nothing and says what to run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "bench" / "results" / "local_cloud_load.json"
GENERATED = ROOT / "docs" / "generated"
TABLE, TIMELINE = "local_cloud_load.md", "local_cloud_load_timeline.md"
RUNS = {"": "everything on", "off": "enforcement and TLS off", "unsigned": "POST unsigned", "fifo": "ordering fifo"}
POINTS = 60  # a chart's points at most: enough for a drain curve, few enough to read
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")  # the services, in name order
AWS_PROCESS, API_PROCESS = "AWS process (moto, pollers)", "local cloud (API)"


class NoTimeline(Exception):
    """The result has no timeline to draw."""


def _shown(path: Path) -> str:
    return os.path.relpath(path, ROOT) if path.is_relative_to(ROOT) else str(path)


def _cells(run: dict[str, Any]) -> list[str]:
    latency, cpu, charges = run["api"]["latency_ms"], run["cpu_seconds_per_1000_rides"], run["accounts"]
    statuses = ", ".join(f"{count:,} x {status}" for status, count in sorted(run["api"]["statuses"].items()))
    order = run.get("charges_out_of_order")
    return [f"{run['rides']:,} in {run['send_seconds']:,.1f} s ({run['send_rides_per_second']} rides/s)", statuses,
            f"**{run['drained_seconds']:,.1f} s** ({run['rides_per_second']} rides/s)",
            f"{run['deliveries']:,} ({run['deliveries_per_second']}/s)",
            f"{run['raw_sqs_messages_per_second']:,.0f} messages/s", f"{run['ratio_to_raw']}",
            f"{latency['p50']:.0f} / {latency['p95']:.0f} / {latency['p99']:.0f} ms",
            f"{cpu[AWS_PROCESS]:.1f} / {cpu[API_PROCESS]:.1f}",
            f"{run['peak_rss_mb_largest_process']:,.0f} / {run['peak_rss_mb_all_processes']:,.0f} MB",
            f"{'exact' if run['reconciliation']['exact'] else 'NOT exact'}, {charges['double_charges']} / "
            f"{charges['missed_charges']}",
            f"{order['out_of_order']:,} of {order['entries']:,}" if order else "not measured"]


def render_table(result: dict[str, Any], source: Path = RESULT) -> str:
    """The run's configurations side by side, with the file and the command they come from."""
    runs = {label: result[key] if key else result for key, label in RUNS.items() if not key or key in result}
    rows = ["rides sent", "API answers", "every queue drained, after the first send",
            "records delivered to consumers (retries included)", "raw moto SQS on the same server, same run",
            "deliveries/s ÷ raw", "API latency p50 / p95 / p99", "CPU s per 1,000 rides: AWS process / API process",
            "peak RSS: largest process / all summed", "reconciliation; double / missed charges",
            "accounting charges applied out of their customer's order"]
    columns = [_cells(run) for run in runs.values()]
    lines = [f"From `{_shown(source)}`, written by `{result['command']}` on {result['date']} ({result['cpus']} "
             f"cores, Python {result['python']}): {result['rides']:,} rides from {result['clients']} clients, "
             f"{result['failure_rate']:.0%} of records failing at random, {result['poison']:,} poison messages.", "",
             "| figure | " + " | ".join(runs) + " |", "| --- |" + " ---: |" * len(runs)]
    lines += [f"| {row} | " + " | ".join(column[n] for column in columns) + " |" for n, row in enumerate(rows)]
    costs = [(key, what) for key, what in (("cost_of_enforcement_and_tls", "enforcement and TLS"),
                                           ("cost_of_signing", "signing the POSTs")) if key in result]
    if "fifo_rides_per_second_vs_standard" in result:
        lines += ["", f"Ordering fifo ({result['fifo']['rides']:,} rides, maxReceiveCount "
                      f"{result['fifo']['settings']['maxReceiveCount']}) drained at "
                      f"{result['fifo_rides_per_second_vs_standard']:.2f} x the standard run's rides/s "
                      "(`fifo_rides_per_second_vs_standard`): a failed record holds its customer back for the "
                      "visibility timeout (scaled here to 1%)."]
    if costs:
        noise = any(result[key] < 0 for key, _ in costs)
        lines += ["", "What each costs in drain time: " + "; ".join(
            f"{what} {result[key]:+.1%} (`{key}`)" for key, what in costs)
            + (" (negative: the run without it was the slower one, the noise between runs)" if noise else "") + "."]
    return "\n".join(lines) + "\n"


def _picked(samples: list[dict[str, Any]], points: int) -> list[dict[str, Any]]:
    """At most `points` samples, evenly spaced: they were taken at a steady pace, so even in time too."""
    if len(samples) <= points:
        return samples
    return [samples[round(n * (len(samples) - 1) / (points - 1))] for n in range(points)]


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _chart(title: str, y_axis: str, end: float, lines: dict[str, list[float]]) -> list[str]:
    palette = ", ".join(PALETTE[: len(lines)])
    chart = ["```mermaid", "---", "config:", "  themeVariables:", "    xyChart:",
             f'      plotColorPalette: "{palette}"', "---", "xychart-beta", f'  title "{title}"',
             f'  x-axis "seconds since the first send" 0 --> {_number(end)}', f'  y-axis "{y_axis}"',
             *(f"  line [{', '.join(map(_number, values))}]" for values in lines.values()), "```"]
    if len(lines) > 1:
        chart += ["", " · ".join(f'<span style="color: {colour}">■</span> {name}'
                                 for colour, name in zip(PALETTE, lines, strict=False))]
    return [*chart, ""]


def render_timeline(result: dict[str, Any], source: Path = RESULT) -> str:
    """Charts of the run over time: rides accepted per second, and the messages in the queues and the DLQs."""
    timeline = result.get("timeline") or {}
    if not timeline.get("samples"):
        raise NoTimeline(f"{_shown(source)} has no timeline (it was recorded before bench/timeline.py sampled the "
                         "queues): run `python -m bench.local_cloud_load`, then `python -m scripts.benchmarks_page`")
    samples = _picked(timeline["samples"], POINTS)
    end = samples[-1]["seconds"]
    rates = [0.0] + [round((b["accepted"] - a["accepted"]) / (b["seconds"] - a["seconds"]), 1)
                     for a, b in pairwise(samples)]
    names = sorted(samples[0]["services"])
    queues = {name: [s["services"][name]["queue"] for s in samples] for name in names}
    dead = {name: [sum(n for kind, n in s["services"][name].items() if kind != "queue") for s in samples]
            for name in names}
    return "\n".join([
        f"Sampled every {_number(timeline['every_seconds'])} s while the run sent and drained "
        f"({len(timeline['samples'])} samples in `{_shown(source)}`'s `timeline`, drawn at {len(samples)} points): "
        "the \"everything on\" run.", "",
        *_chart(f"Rides accepted per second ({result['rides']:,} rides, {result['clients']} clients)",
                "rides/s", end, {"accepted": rates}),
        *_chart("Messages in each service's queue, visible or in flight", "messages", end, queues),
        *_chart("Messages in each service's DLQs (its queue's and its subscription's)", "messages", end, dead)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--result", type=Path, default=RESULT, help="the result file of bench.local_cloud_load")
    parser.add_argument("--output-dir", type=Path, default=GENERATED, help="where the two Markdown files go")
    args = parser.parse_args(argv)
    result = json.loads(args.result.read_text())
    try:
        pages = {TABLE: render_table(result, args.result), TIMELINE: render_timeline(result, args.result)}
    except NoTimeline as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (args.output_dir / name).write_text(text)
        print(f"wrote {_shown(args.output_dir / name)} from {_shown(args.result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
