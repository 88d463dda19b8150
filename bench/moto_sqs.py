"""What local/moto_patches.py buys: the cost of SendMessage and ReceiveMessage in moto by queue depth.

    python -m bench.moto_sqs [--depths 0 1000 2000 4000] [--samples 100]

In-process moto (mock_aws), one standard queue; for each depth, the backlog is built first, then
`samples` single sends and `samples` receives of up to 10 messages (visibility 0, so the depth
stays) are timed. Writes bench/results/moto_sqs.json and prints a table of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from moto import mock_aws

from local import moto_patches

RESULTS = Path(__file__).resolve().parent / "results" / "moto_sqs.json"


def _median_ms(call: Callable[[], object], samples: int) -> float:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(depths: list[int], samples: int) -> dict[int, tuple[float, float]]:
    """Median milliseconds per (SendMessage, ReceiveMessage of 10) at each depth."""
    result: dict[int, tuple[float, float]] = {}
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
            send = _median_ms(lambda: sqs.send_message(QueueUrl=url, MessageBody="y" * 200), samples)
            depth += samples
            receive = _median_ms(lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                             VisibilityTimeout=0), samples)
            result[target] = (send, receive)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[0, 1000, 2000, 4000])
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with moto_patches.removed():
        shipped = measure(args.depths, args.samples)
    moto_patches.apply()
    fixed = measure(args.depths, args.samples)
    rows = [{"depth": d, "send_moto_ms": round(shipped[d][0], 3), "send_patched_ms": round(fixed[d][0], 3),
             "receive10_moto_ms": round(shipped[d][1], 3), "receive10_patched_ms": round(fixed[d][1], 3)}
            for d in sorted(args.depths)]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "moto SendMessage / ReceiveMessage (10) median latency by queue depth",
        "command": "make bench",
        "samples_per_depth": args.samples, "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2) + "\n")
    print(f"{'depth':>6} {'send: moto ms':>14} {'patched ms':>10} {'receive 10: moto ms':>20} {'patched ms':>10}")
    for row in rows:
        print(f"{row['depth']:>6} {row['send_moto_ms']:>14} {row['send_patched_ms']:>10} "
              f"{row['receive10_moto_ms']:>20} {row['receive10_patched_ms']:>10}")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
