"""Where a ride's CPU goes: each process's CPU milliseconds per ride, and the AWS process's split by what it
was doing, from a sampling profile of a load run.

    python -m bench.ride_profile [--rides 2000]

Runs `python -m bench.local_cloud_load --rides N --no-compare` (everything on, as `make local` runs) under
py-spy (`record --gil --subprocesses`: only the thread holding the GIL is sampled, so a sample is Python
work, not a thread waiting), and reads the load run's own result for CPU seconds per process. The AWS
process (moto, the pollers, metrics, logs and alarms) is the largest: its samples are sorted into the
parts named in PARTS, and its CPU per ride is split in their
proportions. Results go to bench/results/ride_profile.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.record import write_result

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ride_profile.json"
AWS_PROCESS = "local.aws_process"
# (part, frame substrings): a stack belongs to the first part in this list whose substrings one of its frames
# contains. The background threads come first (whatever they call is theirs), then what a request did.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("event source mapping pollers (receive, invoke, delete)", ("QueuePoller.",)),
    ("metrics published every scaled minute (AWS/* metrics)", ("MetricsPublisher.",)),
    ("alarm evaluation", ("AlarmService.",)),
    ("log shipping (function output, EMF metrics)", ("LogShipper.",)),
    ("IAM: signature check and policy decision", ("Gate._authenticate", "Gate._authorize")),
    ("DynamoDB (moto, parsing and serializing included)", ("DynamoHandler.",)),
    ("SNS publish and fan-out to SQS (moto)", ("SNSResponse.", "SNSBackend.")),
    ("SQS API (moto)", ("SQSResponse.", "SQSBackend.")),
    ("CloudWatch and Logs APIs (moto)", ("CloudWatchResponse.", "LogsResponse.")),
    ("moto's routing and request parsing, before a service's method (werkzeug, flask, moto core)",
     ("DomainDispatcherApplication.", "Flask.")),
    ("HTTP server and TLS (cheroot)", ("cheroot/",)),
]


def part_of(frames: list[str]) -> str:
    for part, needles in PARTS:
        if any(needle in frame for frame in frames for needle in needles):
            return part
    return "other (imports, start-up, threads not named above)"


def aws_process_parts(raw: Path) -> tuple[int, dict[str, int]]:
    """(samples, samples per part) of the AWS process in py-spy's raw (collapsed) output."""
    parts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        last = max((i for i, frame in enumerate(frames) if frame.startswith("process ")), default=-1)
        if last < 0 or AWS_PROCESS not in frames[last]:
            continue
        parts[part_of(frames[last + 1:])] += int(count)
    return sum(parts.values()), dict(parts.most_common())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rides", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    py_spy = Path(sys.executable).with_name("py-spy")
    with tempfile.TemporaryDirectory() as scratch:
        raw, load = Path(scratch) / "profile.txt", Path(scratch) / "load.json"
        subprocess.run([str(py_spy), "record", "--gil", "--subprocesses", "--nonblocking", "--format", "raw",
                        "-r", str(args.rate), "-o", str(raw), "--", sys.executable, "-m", "bench.local_cloud_load",
                        "--rides", str(args.rides), "--no-compare", "--output", str(load)],
                       cwd=ROOT, check=True, env=os.environ)
        run: dict[str, Any] = json.loads(load.read_text())
        samples, parts = aws_process_parts(raw)
    per_ride = {process: round(seconds, 2) for process, seconds in run["cpu_seconds_per_1000_rides"].items()}
    aws_ms = next(v for k, v in per_ride.items() if k.startswith("AWS process"))
    figures = {
        "rides": args.rides, "drained_seconds": run["drained_seconds"], "rides_per_second": run["rides_per_second"],
        "api_latency_ms": run["api"]["latency_ms"],
        "cpu_ms_per_ride_by_process": per_ride,  # CPU seconds per 1,000 rides are CPU ms per ride
        "cpu_ms_per_ride_all_processes": round(sum(per_ride.values()), 2),
        "aws_process_samples": samples,
        "aws_process_ms_per_ride_by_part": {part: round(aws_ms * n / samples, 2) for part, n in parts.items()},
    }
    result = write_result(args.output, "where a ride's CPU goes (py-spy --gil over a load run, everything on)",
                          f"python -m bench.ride_profile --rides {args.rides}", figures)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
