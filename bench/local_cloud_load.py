"""The local cloud at load: rides/s and deliveries/s end to end, against raw moto SQS in the same run.

    python -m bench.local_cloud_load [--rides 10000] [--clients 8] [--failure-rate 0.3] [--poison 0.05]

Runs `make local` as users do (`python -m scripts.local_cloud`, its own process tree) and, from this
process, first measures raw moto SQS on its AWS endpoint (one sender of single SendMessage calls, one
receiver of ReceiveMessage(10) + DeleteMessageBatch, one queue: the calls SNS fan-out and a Lambda
event source mapping make), then sends `rides` rides through the API (`clients` concurrent HTTP
clients, an Idempotency-Key each, throttles retried) and publishes `poison` x rides poison messages
to the topic (they reach every queue). Consumers fail `failure-rate` of records at random; failed
records return after 1% of their visibility timeout. It waits until every queue is drained, then
reconciles each service exactly, stops the local cloud with SIGINT and reports CPU seconds per
process and peak memory. Results go to bench/results/local_cloud_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx

from bench.processes import by_role, peak_rss_mb, tree
from local.filters import expected
from scripts.rides import ride_mix

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "local_cloud_load.json"
DEPTH = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


@dataclass
class Run:
    endpoints: dict[str, Any]
    process: subprocess.Popen[str]
    ready_seconds: float
    session: Any = field(init=False)

    def __post_init__(self) -> None:
        self.session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                             region_name=self.endpoints["region"])

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.endpoints["aws_endpoint_url"])

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self.endpoints["outputs"])

    @property
    def services(self) -> list[str]:
        return sorted(k[: -len("QueueUrl")] for k in self.outputs if k.endswith("QueueUrl")
                      and not k.endswith("SubscriptionDlqUrl"))


def start(args: argparse.Namespace, endpoints_file: Path) -> Run:
    command = [sys.executable, "-m", "scripts.local_cloud", "--api-port", "0", "--aws-port", "0",
               "--failure-rate", str(args.failure_rate), "--time-scale", str(args.time_scale),
               "--endpoints-file", str(endpoints_file), "--function-concurrency", str(args.function_concurrency)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    while not endpoints_file.exists():
        if process.poll() is not None:
            raise SystemExit(f"the local cloud did not start: {process.stderr.read() if process.stderr else ''}")
        time.sleep(0.01)
    ready = time.monotonic() - started
    return Run(json.loads(endpoints_file.read_text()), process, ready)


def raw_sqs(run: Run, messages: int) -> float:
    """Messages/s through one queue: a sender of single messages, a receiver of 10 + batch delete."""
    sqs = run.client("sqs")
    url = sqs.create_queue(QueueName="bench-raw")["QueueUrl"]
    received = 0
    started = time.monotonic()

    def send() -> None:
        sender = run.client("sqs")
        for i in range(messages):
            sender.send_message(QueueUrl=url, MessageBody=json.dumps({"n": i, "pad": "x" * 200}))

    def receive() -> None:
        nonlocal received
        receiver = run.client("sqs")
        while received < messages:
            batch = receiver.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", [])
            if batch:
                receiver.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
                received += len(batch)

    threads = [threading.Thread(target=send), threading.Thread(target=receive)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    sqs.delete_queue(QueueUrl=url)
    return messages / elapsed


def send_rides(outputs: dict[str, str], client: Callable[[str], Any], rides: list[dict[str, Any]], *, clients: int,
               poison_every: int, progress: dict[str, int] | None = None) -> dict[str, Any]:
    """Post the rides through the API from `clients` threads (throttles and 5xx retried with the same
    Idempotency-Key), publishing a poison message to the topic after every `poison_every`-th ride."""
    url, topic = outputs["ApiUrl"], outputs["RideCompletionTopicArn"]
    lock = threading.Lock()
    pending = iter(range(len(rides)))
    accepted: dict[str, dict[str, Any]] = {}
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    counts = {"retries": 0, "poison": 0}
    sns = client("sns")

    def post(http: httpx.Client, index: int) -> httpx.Response:
        body = json.dumps(rides[index])
        for attempt in range(30):
            started = time.monotonic()
            response = http.post(url, content=body, headers={"Idempotency-Key": f"load-{index}"})
            if response.status_code not in (429, 500, 502, 503, 504):
                break
            with lock:
                counts["retries"] += 1
            time.sleep(min(1.0, 0.02 * 2 ** attempt))
        with lock:
            latencies.append(time.monotonic() - started)
        return response

    def sender() -> None:
        with httpx.Client(timeout=60) as http:
            while (index := next(pending, None)) is not None:
                response = post(http, index)
                with lock:
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 201:
                        accepted[response.json()["id"]] = rides[index]
                    if progress is not None:
                        progress["sent"] = progress.get("sent", 0) + 1
                if poison_every and index % poison_every == 0:
                    sns.publish(TopicArn=topic, Message=f"poison {index}: not a ride", MessageAttributes={
                        "fare": {"DataType": "Number", "StringValue": "100"},
                        "distance": {"DataType": "Number", "StringValue": "100"}})
                    with lock:
                        counts["poison"] += 1

    threads = [threading.Thread(target=sender) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"accepted": accepted, "statuses": statuses, **counts,
            "latency_ms": {"p50": round(quantiles[49] * 1000, 1), "p95": round(quantiles[94] * 1000, 1),
                           "p99": round(quantiles[98] * 1000, 1)}}


def depth(run: Run, sqs: Any) -> int:
    total = 0
    for service in run.services:
        attributes = sqs.get_queue_attributes(QueueUrl=run.outputs[f"{service}QueueUrl"], AttributeNames=list(DEPTH))
        total += sum(int(attributes["Attributes"][name]) for name in DEPTH)
    return total


def _scan(client: Callable[[str], Any], table: str, key: str) -> dict[str, dict[str, Any]]:
    items = {}
    for page in client("dynamodb").get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            items[item[key]["S"]] = item
    return items


def _drain_dlq(client: Callable[[str], Any], url: str) -> list[str]:
    sqs, bodies = client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get(
            "Messages", []):
        bodies += [m["Body"] for m in messages]
    return bodies


def reconcile_services(outputs: dict[str, str], client: Callable[[str], Any],
                       accepted: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per service: rides its filter admits, processed (its table), in its DLQ, poison in its DLQ, lost and
    astray; and the Rides table's status counts. Reads (and hides for 5 minutes) the DLQs' messages."""
    sns = client("sns")
    policies = {}
    topic = outputs["RideCompletionTopicArn"]
    for subscription in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
        policies[subscription["Endpoint"].rsplit(":", 1)[-1]] = json.loads(attributes.get("FilterPolicy") or "null")
    services: dict[str, Any] = {}
    for service in sorted(k[: -len("TableName")] for k in outputs if k.endswith("TableName") and k != "RidesTableName"):
        policy = policies[outputs[f"{service}QueueUrl"].rsplit("/", 1)[-1]]
        should = {rid for rid, r in accepted.items()
                  if expected(policy, {"fare": r["fare"], "distance": r["distance"]})}
        processed = set(_scan(client, outputs[f"{service}TableName"], "rideId"))
        bodies = _drain_dlq(client, outputs[f"{service}DlqUrl"])
        dead = {json.loads(b)["id"] for b in bodies if b.startswith("{")}
        services[service] = {"expected": len(should), "processed": len(processed & should), "in_dlq": len(dead),
                             "processed_and_in_dlq": len(processed & dead),
                             "poison_in_dlq": sum(b.startswith("poison") for b in bodies),
                             "lost": len(should - processed - dead), "astray": len((processed | dead) - should)}
    statuses: dict[str, int] = {}
    for item in _scan(client, outputs["RidesTableName"], "id").values():
        statuses[item["status"]["S"]] = statuses.get(item["status"]["S"], 0) + 1
    return {"services": services, "rides_table": statuses}


def stop(run: Run) -> float:
    started = time.monotonic()
    run.process.send_signal(signal.SIGINT)
    run.process.wait(timeout=30)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rides", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--failure-rate", type=float, default=0.3)
    parser.add_argument("--poison", type=float, default=0.05, help="poison messages per ride, published to the topic")
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--function-concurrency", type=int, default=10)
    parser.add_argument("--raw-messages", type=int, default=3000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        run = start(args, Path(scratch) / "endpoints.json")
        try:
            print(f"ready in {run.ready_seconds:.2f} s", flush=True)
            raw = raw_sqs(run, args.raw_messages)
            print(f"raw moto SQS: {raw:.0f} messages/s", flush=True)
            rides = list(ride_mix(args.rides, seed=11))
            before = {p.pid: p.cpu_seconds for p in tree(run.process.pid)}
            started = time.monotonic()
            sent = send_rides(run.outputs, run.client, rides, clients=args.clients,
                              poison_every=round(1 / args.poison) if args.poison else 0)
            sent_at = time.monotonic() - started
            print(f"sent {args.rides} rides in {sent_at:.1f} s ({args.rides / sent_at:.1f}/s): {sent['statuses']}",
                  flush=True)
            sqs = run.client("sqs")
            while depth(run, sqs):
                time.sleep(0.5)
            drained_at = time.monotonic() - started
            usage = tree(run.process.pid)
            peaks = {p.pid: peak_rss_mb(p.pid) for p in usage}
            status = httpx.get(f"{run.endpoints['aws_endpoint_url']}/_localcloud/status").json()
            deliveries = sum(m["records"] for m in status["mappings"].values())
            print(f"drained {drained_at:.1f} s after the first send: {deliveries} deliveries "
                  f"({deliveries / drained_at:.1f}/s)", flush=True)
            report = reconcile_services(run.outputs, run.client, sent["accepted"])
            report["ok"] = report["rides_table"] == {"PUBLISHED": len(sent["accepted"])} and all(
                r["lost"] == 0 and r["astray"] == 0 and r["poison_in_dlq"] == sent["poison"]
                for r in report["services"].values())
        finally:
            stop_seconds = stop(run)
    cpu = {role: round(sum(p.cpu_seconds - before.get(p.pid, 0.0) for p in members), 1)
           for role, members in by_role(usage, run.process.pid).items()}
    result = {
        "benchmark": "local cloud end to end at load", "command": f"python -m bench.local_cloud_load "
        f"--rides {args.rides} --clients {args.clients}", "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
        "rides": args.rides, "clients": args.clients, "failure_rate": args.failure_rate, "poison": sent["poison"],
        "ready_seconds": round(run.ready_seconds, 2), "stop_seconds": round(stop_seconds, 2),
        "send_seconds": round(sent_at, 1), "drained_seconds": round(drained_at, 1),
        "rides_per_second": round(args.rides / drained_at, 1), "send_rides_per_second": round(args.rides / sent_at, 1),
        "deliveries": deliveries, "deliveries_per_second": round(deliveries / drained_at, 1),
        "raw_sqs_messages_per_second": round(raw, 1), "ratio_to_raw": round(deliveries / drained_at / raw, 2),
        "api": {k: v for k, v in sent.items() if k in ("statuses", "retries", "latency_ms")},
        "cpu_seconds_by_process": cpu, "peak_rss_mb_largest_process": round(max(peaks.values()), 1),
        "peak_rss_mb_all_processes": round(sum(peaks.values()), 1),
        "rss_mb_at_drain": round(sum(p.rss_mb for p in usage), 1), "reconciliation": report}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("cpu_seconds_by_process",)}, indent=1))
    print(json.dumps(cpu, indent=1))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
