"""Records/s of one consumer execution environment, one record at a time against several at once.

    python -m bench.consumer_records [--latency-ms 5] [--batches 100] [--repeats 5]

Runs the subscriber consumer's handler (lambdas/shared/consumer.py, as deployed: Powertools batch
processing, the ride model, logging and metrics) in this process, on batches of 10 rides, with a
store whose every write takes `latency-ms` (as a DynamoDB PutItem does from Lambda) instead of
DynamoDB. With RECORD_CONCURRENCY 1 the records are written one by one; with 10, all at once.
Medians over the repeats go to bench/results/consumer_records.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.record import write_result

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "consumer_records.json"
BATCH = 10


class LatencyStore:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def put_once(self, item: dict[str, Any]) -> bool:
        time.sleep(self.seconds)
        return True


class Context:
    function_name, function_version, memory_limit_in_mb = "bench", "$LATEST", 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id, log_group_name, log_stream_name = "bench", "/aws/lambda/bench", "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def batch() -> dict[str, Any]:
    ride = {"from": "Berlin", "to": "Munich", "duration": 480, "distance": 600, "customer": "cmr", "fare": 256.5}
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "h", "body": json.dumps({**ride, "id": str(uuid.uuid4())}),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "bench",
                       "ApproximateFirstReceiveTimestamp": "1"}, "messageAttributes": {}, "md5OfBody": "x",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
        "awsRegion": "us-east-1"} for _ in range(BATCH)]}


def records_per_second(concurrency: int, latency: float, batches: int) -> float:
    from shared.consumer import ConsumerSettings, SubscriberConsumer

    consumer = SubscriberConsumer(effect=lambda ride: {"customer": ride.customer}, store=LatencyStore(latency),
                                  settings=ConsumerSettings(table_name="bench", record_concurrency=concurrency))
    events = [batch() for _ in range(batches)]
    started = time.perf_counter()
    for event in events:
        response = consumer.lambda_handler(event, Context())
        assert response == {"batchItemFailures": []}
    return batches * BATCH / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "lambdas"))
    os.environ.update({"POWERTOOLS_SERVICE_NAME": "Bench", "POWERTOOLS_METRICS_NAMESPACE": "Bench",
                       "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
                       "POWERTOOLS_METRICS_DISABLED": "true",  # the metrics are computed, not printed
                       "AWS_DEFAULT_REGION": "us-east-1"})
    figures: dict[int, list[float]] = {1: [], 10: []}
    for _ in range(args.repeats):  # the two side by side in each repeat: a noisy machine hits both alike
        for concurrency in figures:
            figures[concurrency].append(records_per_second(concurrency, args.latency_ms / 1000, args.batches))
    sequential, concurrent = (statistics.median(figures[c]) for c in (1, 10))
    ratios = [c / s for s, c in zip(figures[1], figures[10], strict=True)]
    result = write_result(
        args.output, "consumer records/s per execution environment, batch of 10, store latency per write",
        f"python -m bench.consumer_records --latency-ms {args.latency_ms:g}", {
            "latency_ms": args.latency_ms, "ratio_median": round(statistics.median(ratios), 2),
            "records_per_second": {"record_concurrency_1": round(sequential, 1),
                                   "record_concurrency_10": round(concurrent, 1)},
            "ratios": [round(r, 2) for r in ratios]})
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
