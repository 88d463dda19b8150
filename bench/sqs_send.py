"""What local/moto_patches.py buys: the cost of one SendMessage in moto by queue depth.

    python -m bench.sqs_send [--depths 0 1000 2000 4000] [--samples 200]

In-process moto (mock_aws), one standard queue; for each depth, the backlog is built first, then
`samples` single sends are timed. Writes bench/results/sqs_send.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import boto3
from moto import mock_aws

from local import moto_patches

RESULTS = Path(__file__).resolve().parent / "results" / "sqs_send.json"


def measure(depths: list[int], samples: int) -> dict[int, float]:
    """Median milliseconds per SendMessage at each depth."""
    result: dict[int, float] = {}
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="bench")["QueueUrl"]
        depth = 0
        for target in sorted(depths):
            while depth < target:
                count = min(10, target - depth)
                sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x" * 200}
                                                              for i in range(count)])
                depth += count
            timings = []
            for _ in range(samples):
                started = time.perf_counter()
                sqs.send_message(QueueUrl=url, MessageBody="y" * 200)
                timings.append((time.perf_counter() - started) * 1000)
            depth += samples
            result[target] = statistics.median(timings)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[0, 1000, 2000, 4000])
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with moto_patches.removed():
        shipped = measure(args.depths, args.samples)
    moto_patches.apply()
    fixed = measure(args.depths, args.samples)
    rows = [{"depth": d, "moto_ms": round(shipped[d], 3), "patched_ms": round(fixed[d], 3),
             "speedup": round(shipped[d] / fixed[d], 1)} for d in sorted(args.depths)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "moto SendMessage median latency by queue depth", "command": "make bench",
        "samples_per_depth": args.samples, "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2) + "\n")
    print(f"{'depth':>6} {'moto ms':>8} {'patched ms':>10} {'speedup':>7}")
    for row in rows:
        print(f"{row['depth']:>6} {row['moto_ms']:>8} {row['patched_ms']:>10} {row['speedup']:>7}")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
