"""How long `make review` takes: beyond synth (cdk.out current), with a synth, and with BASE (two synths).

    python -m bench.review_speed [--runs 5] [--base HEAD]

Each run is the command as `make review` starts it (`python -m scripts.review`), timed from outside
(wall clock, and the CPU time of the review and everything it started, which depends less on what
else the machine runs); the review's own split (synth, scanners) comes from its review.json. Cases:
  reused   cdk.out is current: what the review costs beyond synth (scanners in parallel, model, report)
  synth    an empty cdk.out: one synth, then the review
  base     an empty cdk.out and --base REF: HEAD's and REF's synths side by side, then the review and diff
Writes bench/results/review.json and prints the medians. Numbers depend on what else the machine
runs: the 1-minute load average at the start of each case is recorded beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "review.json"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every finished descendant: review, synth, scanners
    return usage.ru_utime + usage.ru_stime


def _run(arguments: list[str], cdk_out: Path, output: Path) -> dict[str, float]:
    cpu = _cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "scripts.review", "--cdk-out", str(cdk_out), "--output",
                             str(output), *arguments], cwd=ROOT, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    if result.returncode not in (0, 1):
        raise SystemExit(f"review failed: {result.stderr.strip() or result.stdout.strip()}")
    facts = json.loads((output / "review.json").read_text())["facts"]
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "synth_s": facts.get("synth_seconds", 0.0),
            "scan_s": facts.get("scan_seconds", 0.0), "base_s": facts.get("base_seconds", 0.0)}


def measure(case: str, runs: int, base: str) -> dict[str, object]:
    load = os.getloadavg()[0]
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-review-") as scratch:
            output = Path(scratch) / "out"
            if case == "reused":
                subprocess.run([sys.executable, "-m", "scripts.review", "--output", str(output)], cwd=ROOT,
                               capture_output=True, check=False)  # make sure cdk.out is current first
                samples.append(_run([], ROOT / "cdk.out", output))
            else:
                samples.append(_run(["--base", base] if case == "base" else [], Path(scratch) / "cdk.out", output))
    medians = {key: round(statistics.median(s[key] for s in samples), 2) for key in samples[0]}
    return {"case": case, "runs": runs, "load_1min_at_start": round(load, 2), "median": medians,
            "samples": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--base", default="HEAD", help="the BASE ref for the `base` case (default HEAD)")
    args = parser.parse_args()
    rows = [measure(case, args.runs, args.base) for case in ("reused", "synth", "base")]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "make review wall clock: beyond synth, with a synth, with BASE", "command": "make bench-review",
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2) + "\n")
    print(f"{'case':8} {'wall':>7} {'cpu':>7} {'synth':>7} {'scan':>7} {'BASE':>7}  load")
    for row in rows:
        m = row["median"]
        seconds = " ".join(f"{m[key]:>6}s" for key in ("wall_s", "cpu_s", "synth_s", "scan_s", "base_s"))
        print(f"{row['case']:8} {seconds}  {row['load_1min_at_start']}")
    print(f"medians of {args.runs} runs; written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
