"""`make demo`: start the local cloud, send rides through the API, watch them drain, reconcile.

Failure injection is on (consumers fail a share of records at random) so that retries happen, and
a few poison messages go straight onto one queue, so that the DLQ is seen. Exits 0 only if every
accepted ride is accounted for in every service that should get it: processed once, or in the DLQ.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from local.assembly import ROOT
from local.cloud import LocalCloud
from local.deploy import MappingSpec
from local.filters import expected
from scripts.local_cloud import add_cloud_arguments, start_from_arguments
from scripts.rides import INVALID_BODIES, ride_mix, send_all

POISON_BODY = "this is not a ride"


def service_name(mapping: MappingSpec) -> str:
    return mapping.function.logical_id.split("Consumer")[0]


def queue_depths(cloud: LocalCloud, mapping: MappingSpec) -> tuple[int, int, int]:
    sqs = cloud.clients.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    queue = sqs.get_queue_attributes(QueueUrl=mapping.queue_url, AttributeNames=names)["Attributes"]
    dlq = 0
    if mapping.dead_letter_queue_url:
        dlq = int(sqs.get_queue_attributes(QueueUrl=mapping.dead_letter_queue_url,
                                           AttributeNames=names[:1])["Attributes"][names[0]])
    return int(queue[names[0]]), int(queue[names[1]]), dlq


def table_ids(cloud: LocalCloud, table: str) -> set[str]:
    paginator = cloud.clients.client("dynamodb").get_paginator("scan")
    return {item["rideId"]["S"] for page in paginator.paginate(TableName=table, ProjectionExpression="rideId")
            for item in page["Items"]}


def dead_letters(cloud: LocalCloud, url: str | None) -> list[str]:
    """Bodies of every message in a DLQ (hidden for a minute while read; the demo ends before that)."""
    if not url:
        return []
    sqs, bodies = cloud.clients.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
            "Messages", []):
        bodies += [m["Body"] for m in messages]
    return bodies


@dataclass
class Row:
    service: str
    expected: int | None
    delivered: int
    processed: int
    retried: int
    dead_rides: int
    poison: int
    lost: int
    astray: int


def drain(cloud: LocalCloud, timeout: float) -> bool:
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        depths = {service_name(m): queue_depths(cloud, m) for m in cloud.mappings}
        busy = any(v or f for v, f, _ in depths.values()) or any(
            m["in_flight"] for m in cloud.status()["mappings"].values())
        print("  " + " | ".join(f"{name}: {v} waiting, {f} in flight, {d} in DLQ"
                                for name, (v, f, d) in depths.items()), flush=True)
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return True
        time.sleep(1)
    return False


def reconcile(cloud: LocalCloud, accepted: dict[str, dict[str, Any]]) -> list[Row]:
    assert cloud.deployment is not None
    rows = []
    for mapping in cloud.mappings:
        seen = cloud.snapshot(service_name(mapping))
        policy = cloud.deployment.filter_policies.get(mapping.queue_arn)
        verdicts = {rid: expected(policy, {"fare": r["fare"], "distance": r["distance"]})
                    for rid, r in accepted.items()}
        known = None not in verdicts.values()
        should = {rid for rid, verdict in verdicts.items() if verdict}
        processed = table_ids(cloud, mapping.function.environment["EFFECT_TABLE_NAME"]) & set(accepted)
        bodies = dead_letters(cloud, mapping.dead_letter_queue_url)
        dead = {rid for rid in accepted if any(f'"id":"{rid}"' in b for b in bodies)}
        delivered = seen.ride_ids & set(accepted)
        target = should if known else delivered
        rows.append(Row(service_name(mapping), len(should) if known else None, len(delivered), len(processed),
                        seen.summary["retried"], len(dead), sum(b == POISON_BODY for b in bodies),
                        len(target - processed - dead) + len(processed & dead),
                        len(delivered - should) if known else 0))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_cloud_arguments(parser, api_port=0, aws_port=0)
    parser.add_argument("--rides", type=int, default=60, help="valid rides to send (default 60)")
    parser.add_argument("--failure-rate", type=float, default=0.4, help="injected failure share (default 0.4)")
    parser.add_argument("--time-scale", type=float, default=0.01,
                        help="failed records return after visibility timeout x this (default 0.01)")
    parser.add_argument("--poison", type=int, default=2, help="poison messages put straight onto one queue")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds to wait for the queues to drain (default: 90, or 0.15 s a ride if more)")
    args = parser.parse_args(argv)
    if args.rides < 1 or not 0 <= args.failure_rate < 1:
        parser.error("--rides must be positive and --failure-rate from 0 to below 1")

    started = time.monotonic()
    cloud = start_from_arguments(args, log_dir=ROOT / ".local" / "demo-logs")
    if cloud is None:
        return 2
    try:
        return run(cloud, args, started)
    finally:
        cloud.stop()


def run(cloud: LocalCloud, args: argparse.Namespace, started: float) -> int:
    url = cloud.outputs["ApiUrl"]
    print(f"Local cloud up in {time.monotonic() - started:.1f} s: API {url}, AWS {cloud.aws_endpoint_url}")
    for m in cloud.mappings:
        print(f"  {service_name(m)}: batch {m.batch_size}, window {m.batching_window_seconds} s, "
              f"max concurrency {m.max_concurrency}, maxReceiveCount {m.max_receive_count}, "
              f"visibility {m.visibility_timeout_seconds} s (x{args.time_scale} here)")
    print(f"Failure injection: {args.failure_rate:.0%} of records fail at random in every consumer.")

    rides = list(ride_mix(args.rides))
    invalid = INVALID_BODIES * max(1, args.rides // 60)
    sent = send_all(url, rides, invalid)
    statuses = Counter(s.status for s in sent)
    accepted = {s.answer["id"]: s.ride for s in sent if s.status == 201 and s.ride is not None}
    print(f"Sent {len(rides)} rides and {len(invalid)} invalid requests: " +
          ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items())))
    poison_queue = cloud.mappings[0]
    for _ in range(args.poison):
        cloud.clients.client("sqs").send_message(QueueUrl=poison_queue.queue_url, MessageBody=POISON_BODY)
    print(f"Put {args.poison} poison messages straight onto the {service_name(poison_queue)} queue.")

    print("Draining:")
    drained = drain(cloud, args.timeout or max(90.0, 0.15 * args.rides))
    rows = reconcile(cloud, accepted)
    header = f"{'service':22} {'expected':>8} {'delivered':>9} {'processed':>9} {'retried':>7} {'in DLQ':>6} " \
             f"{'poison':>6} {'lost':>4} {'astray':>6}"
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        print(f"{r.service:22} {r.expected if r.expected is not None else '?':>8} {r.delivered:>9} {r.processed:>9} "
              f"{r.retried:>7} {r.dead_rides:>6} {r.poison:>6} {r.lost:>4} {r.astray:>6}")
    client_errors = sum(n for status, n in statuses.items() if 400 <= status < 500)
    print(f"\nAPI: {statuses.get(201, 0)} accepted (201), {client_errors} rejected (4xx), "
          f"{sum(n for s, n in statuses.items() if s >= 500)} failed (5xx)")
    print("Load balancing (batches per worker, most concurrent invocations seen / allowed, cold starts):")
    status = cloud.status()["mappings"]
    for mapping in cloud.mappings:
        counts = status[mapping.function.logical_id]
        print(f"  {service_name(mapping):22} " + ", ".join(f"worker {w}: {n}" for w, n in
                                                           counts["batches_per_worker"].items())
              + f"   concurrency {counts['max_in_flight']}/{mapping.max_concurrency}, "
                f"cold starts {counts['cold_starts']}")
    ok = drained and all(r.lost == 0 and r.astray == 0 for r in rows) and statuses.get(201, 0) == len(rides) \
        and sum(r.poison for r in rows) == args.poison and not cloud.errors
    print(f"\n{'OK' if ok else 'FAILED'}: " + ("every accepted ride was processed once or is in a DLQ"
          if ok else "some rides are unaccounted for (see lost/astray), or the queues did not drain")
          + f"; {time.monotonic() - started:.1f} s in all. Function logs: {cloud.options.log_dir}/")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
