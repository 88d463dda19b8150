"""`make demo`: start the local cloud, send rides through the API, watch them drain, reconcile.

Failure injection is on (consumers fail a share of records at random) so that retries happen, and
a few poison messages go straight onto one queue, so that the DLQ is seen. Everything after the
start-up is the `wildrydes` commands' own logic (ops/): send, watch's snapshot, reconcile. Exits 0
only if every accepted ride is accounted for in every service that should get it (processed once, or
in a DLQ), every customer's balance is the sum of the fares of their rides (no double or missed charge), every
request got the answer it should, the poison reached the DLQ and the queues drained.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from cloud_assembly import ROOT
from local.cloud import LocalCloud
from ops import run_views, views
from ops.plan import read_template
from ops.reconcile import reconcile
from ops.send import SendOptions, send
from ops.target import Target, target_from_endpoints
from ops.watch import Snapshot, latest_transitions, stack_alarms, wait_until_drained
from scripts.local_cloud import add_cloud_arguments, start_from_arguments

POISON_BODY = "this is not a ride"
INVALID_SHARE = 5 / 65  # as many invalid requests as the first demo: 5 for every 60 rides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_cloud_arguments(parser, api_port=0, aws_port=0)
    parser.add_argument("--rides", type=int, default=60, help="valid rides to send (about; default 60)")
    parser.add_argument("--failure-rate", type=float, default=0.4, help="injected failure share (default 0.4)")
    parser.add_argument("--time-scale", type=float, default=0.01,
                        help="failed records return after visibility timeout x this (default 0.01)")
    parser.add_argument("--poison", type=int, default=2, help="poison messages put straight onto one queue")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent API clients (default 8)")
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


def drain_line(snapshot: Snapshot) -> str:
    return "  " + " | ".join(f"{s.service}: {s.visible} waiting, {s.in_flight} in flight, {s.dlq or 0} in DLQ"
                             for s in snapshot.services)


def run(cloud: LocalCloud, args: argparse.Namespace, started: float) -> int:
    console = views.stdout_console()
    target: Target = target_from_endpoints(cloud.endpoints())
    print(f"Local cloud up in {time.monotonic() - started:.1f} s: API {target.api_url}, AWS {target.endpoint_url}")
    settings, _ = read_template(args.cdk_out / f"{target.stack_name}.template.json")
    for s in settings:
        print(f"  {s.name}: batch {s.batch_size}, window {s.window_seconds} s, max concurrency {s.max_concurrency}, "
              f"maxReceiveCount {s.max_receive_count}, visibility {s.visibility_seconds} s (x{args.time_scale} here)")
    print(f"Failure injection: {args.failure_rate:.0%} of records fail at random in every consumer.")

    total = round(args.rides / (1 - INVALID_SHARE))
    report = send(target, SendOptions(rides=total, concurrency=args.concurrency, invalid_share=INVALID_SHARE))
    summary = report.summary()
    accepted = report.accepted()
    print(f"Sent {summary['sent'] - summary['invalid_sent']} rides and {summary['invalid_sent']} invalid requests "
          f"in {summary['elapsed_seconds']:.1f} s: " + ", ".join(f"{n} x {s}" for s, n in summary["statuses"].items()))

    poisoned = target.services[0]
    for _ in range(args.poison):
        target.client("sqs").send_message(QueueUrl=poisoned.queue_url, MessageBody=POISON_BODY)
    print(f"Put {args.poison} poison messages straight onto the {poisoned.name} queue.")

    print("Draining:")
    latest: list[Snapshot] = []

    def show(snapshot: Snapshot) -> None:
        latest[:] = [snapshot]
        print(drain_line(snapshot), flush=True)

    drained = wait_until_drained(target, timeout=args.timeout or max(90.0, 0.15 * args.rides), on_snapshot=show)
    result = reconcile(target, accepted)
    activity = {s.service: {"invocations": views.shown(s.invocations), "peak concurrency": views.shown(s.concurrency)}
                for s in latest[0].services} if latest else {}
    console.print(run_views.reconciliation_table(result, activity))
    print(f"API: {summary['accepted']} accepted (201), {summary['rejected']} rejected (4xx), "
          f"{summary['failed']} failed (5xx or no answer); p50 {summary['latency_ms']['p50']:.0f} ms, "
          f"p95 {summary['latency_ms']['p95']:.0f} ms")
    permissions = cloud.permissions()
    decisions = sum(row["count"] for row in permissions["used"] + permissions["denied"])
    print(f"IAM ({'enforced' if permissions['enforced'] else 'NOT enforced'}): {decisions:,} decisions, "
          f"{len(permissions['denied'])} denied (`wildrydes permissions --target local` while it runs lists them)")
    poison_seen = sum(s.poison for s in result.services)
    alarm_fired = not args.poison or dead_letter_alarm(target, poisoned.dlq_url, timeout=600 * args.time_scale + 5)
    errors = cloud.errors
    ok = (drained and result.ok and summary["unexpected"] == 0 and poison_seen == args.poison and not errors
          and not permissions["denied"] and alarm_fired)
    print(f"\n{'OK' if ok else 'FAILED'}: " + ("every accepted ride was processed once or is in a DLQ, "
                                                     "every customer charged once per ride"
          if ok else "some rides are unaccounted for (see lost/astray), a customer was charged twice or not at all "
                     "(see double charged/missed charges), a request got the wrong answer, "
                     "a call was denied, the DLQ alarm did not fire, or the queues did not drain")
          + f"; {time.monotonic() - started:.1f} s in all. Function logs: {cloud.options.log_dir}/")
    return 0 if ok else 1


def dead_letter_alarm(target: Target, dlq_url: str | None, *, timeout: float) -> bool:
    """Wait for the alarm on the poisoned service's DLQ to fire (the local cloud evaluates alarms as CloudWatch
    does, on the scaled clock), and print it with the stack's alarm state changes. True if it fired."""
    cloudwatch, queue = target.client("cloudwatch"), (dlq_url or "").rsplit("/", 1)[-1]
    alarms = stack_alarms(cloudwatch, target.stack_name, target.outputs.get("AlarmTopicArn"))
    watching = [a for a in alarms if {"Name": "QueueName", "Value": queue} in a.get("Dimensions", [])]
    deadline = time.monotonic() + timeout
    while watching and time.monotonic() < deadline:
        names = [a["AlarmName"] for a in watching]
        if any(a["StateValue"] == "ALARM" for a in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]):
            break
        time.sleep(0.2)
    else:
        print(f"Alarms: the alarm on {queue or 'the DLQ'} did not fire within {timeout:.0f} s")
        return False
    changes = latest_transitions(cloudwatch, {a["AlarmName"] for a in alarms}, count=100)
    fired = sorted({re.sub(r"[0-9A-F]{8}-[0-9A-Z]+$", "", t.alarm.removeprefix(f"{target.stack_name}-"))
                    for t in changes if t.new == "ALARM"})
    print(f"Alarms: the DLQ alarm fired on the poison; {len(changes)} state changes, to ALARM: {', '.join(fired)} "
          "(each notified the alarm topic; `wildrydes watch --target local` shows them)")
    return True


if __name__ == "__main__":
    sys.exit(main())
