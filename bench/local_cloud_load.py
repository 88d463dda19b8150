"""The local cloud at load: rides/s and deliveries/s end to end, against raw moto SQS in the same run.

    python -m bench.local_cloud_load [--rides 10000] [--clients 8] [--failure-rate 0.3] [--poison 0.05]

Runs `make local` as users do (`python -m scripts.local_cloud`, a process tree of its own) and, from
this process, first measures raw moto SQS on its AWS endpoint: four senders of single SendMessage calls
and two receivers of ReceiveMessage(10) + DeleteMessageBatch on one queue, the calls SNS fan-out and a
Lambda event source mapping make, as fast as that server takes them. Then it sends `rides` rides through
the API with `wildrydes send` (`clients` concurrent clients, an Idempotency-Key each, throttles and 5xx
retried) and publishes a poison message (not a ride) to the topic after every 1/`poison`-th request.
Consumers fail `failure-rate` of records at random; failed records return after 1% of their visibility
timeout. It waits until every queue is drained, reconciles every service exactly (`wildrydes`'s
reconcile, per-customer balances included: double and missed charges must both be 0), stops the
local cloud with SIGINT and reports CPU seconds per process and peak memory.

The app is synthesized with the stage throttle raised (`--api-rate-limit`/`--api-burst-limit`, as a user
would raise cdk.json's apiRateLimit/apiBurstLimit before a load test; the result says so). The run is
made as `make local` runs: IAM enforcement and TLS on, every request signed (SigV4) and its signer judged
(apiAuthorization "iam"). Then, right after (`--compare`, the default), once with enforcement and TLS off
(`ENFORCE_IAM=0`, `--plain-http`), once with the POST unsigned (apiAuthorization "none"), and once with
ordering "fifo" (`--fifo-rides`, maxReceiveCount raised), and it records what each costs; every run
reports the accounting charges applied out of their customer's order (0 with FIFO).
While each run sends and drains, it samples the queues every few seconds (bench/timeline.py) into the
result's "timeline", which the benchmarks page draws (`python -m scripts.benchmarks_page`).
Results go to bench/results/local_cloud_load.json (`--output` for a trial run; `--no-compare` runs only the
first configuration).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aws_clients.control import ControlClient
from bench.processes import by_role, peak_rss_mb, tree
from bench.record import write_result
from bench.ride_load import charge_counts, exact, load, out_of_order, queued
from bench.timeline import Timeline
from ops.reconcile import reconcile
from ops.target import Target, local_target

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "local_cloud_load.json"


def start_local_cloud(args: argparse.Namespace, endpoints_file: Path, cdk_out: Path,
                      secure: bool) -> tuple[subprocess.Popen[str], float]:
    """`make local` in a session of its own (`secure`: IAM enforced and TLS, as by default; else
    `ENFORCE_IAM=0 ... --plain-http`); the seconds from its start to its endpoints file."""
    command = [sys.executable, "-m", "scripts.local_cloud", "--api-port", "0", "--aws-port", "0",
               "--failure-rate", str(args.failure_rate), "--time-scale", str(args.time_scale),
               "--endpoints-file", str(endpoints_file), "--cdk-out", str(cdk_out)]
    environment = {**os.environ, "ENFORCE_IAM": "1" if secure else "0"}
    if not secure:
        command.append("--plain-http")
    # stderr to a file, never a pipe no one reads: a full pipe would stop the local cloud mid-run
    errors = endpoints_file.with_name("local_cloud.stderr")
    started = time.monotonic()
    with errors.open("w") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=sink, text=True,
                                   start_new_session=True, env=environment)
    while not endpoints_file.exists():
        if process.poll() is not None:
            raise SystemExit(f"the local cloud did not start: {errors.read_text()}")
        time.sleep(0.005)
    return process, time.monotonic() - started


def stop_local_cloud(process: subprocess.Popen[str]) -> float:
    """Ctrl-C, as a terminal sends it to the whole process group; the seconds until it has exited."""
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:  # nothing of it may outlive the benchmark, holding its ports
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return time.monotonic() - started


def raw_sqs(target: Target, messages: int, senders: int = 4, receivers: int = 2) -> float:
    """Messages/s through one queue of the same server: single sends in, batches of 10 out and deleted."""
    url = target.client("sqs").create_queue(QueueName="bench-raw")["QueueUrl"]
    lock = threading.Lock()
    counts = {"to_send": messages, "received": 0}

    def sender() -> None:
        sqs = target.client("sqs")
        while True:
            with lock:
                if counts["to_send"] == 0:
                    return
                counts["to_send"] -= 1
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"pad": "x" * 200}))

    def receiver() -> None:
        sqs = target.client("sqs")
        while counts["received"] < messages:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            if batch:
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
                with lock:
                    counts["received"] += len(batch)

    started = time.monotonic()
    threads = [threading.Thread(target=sender) for _ in range(senders)]
    threads += [threading.Thread(target=receiver) for _ in range(receivers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    target.client("sqs").delete_queue(QueueUrl=url)
    return messages / elapsed


FIFO_MAX_RECEIVE_COUNT = 40  # see synthesize_for_load


def synthesize_for_load(outdir: Path, rate: int, burst: int, authorization: str = "iam",
                        ordering: str = "standard") -> dict[str, Any]:
    """The app with the stage throttle raised, as a user would before a load test (cdk.json's
    apiRateLimit/apiBurstLimit); at the default 50/s the throttle alone would hold 10,000 rides to 200 s.
    With ordering "fifo", each service's maxReceiveCount is raised too: a FIFO consumer that fails a record
    returns the rest of its customer's batch, and each return counts a receive of those records, so at 30%
    injected failures the default 5 would dead-letter valid rides for waiting (docs/design.md)."""
    from stacks.app_factory import build_app, project_context

    settings: dict[str, Any] = {"apiRateLimit": rate, "apiBurstLimit": burst, "apiAuthorization": authorization}
    if ordering == "fifo":
        settings.update(ordering="fifo", subscribers=[{**s, "maxReceiveCount": FIFO_MAX_RECEIVE_COUNT}
                                                      for s in project_context()["wildrydes"]["subscribers"]])
    app, _ = build_app(overrides=settings, outdir=str(outdir), nag=False)
    app.synth()
    return settings


def run_once(args: argparse.Namespace, cdk_out: Path, *, secure: bool, mode: str, sign: bool = True) -> dict[str, Any]:
    """One load run on a fresh local cloud; its figures."""
    with tempfile.TemporaryDirectory() as scratch:
        endpoints_file = Path(scratch) / "endpoints.json"
        process, ready_seconds = start_local_cloud(args, endpoints_file, cdk_out, secure)
        try:
            target = local_target(endpoints_file)
            print(f"[{mode}] ready in {ready_seconds:.2f} s", flush=True)
            raw = raw_sqs(target, args.raw_messages)
            print(f"[{mode}] raw moto SQS: {raw:.0f} messages/s", flush=True)
            before = {p.pid: p.cpu_seconds for p in tree(process.pid)}
            started = time.monotonic()
            with Timeline(target, started, every=args.sample_seconds) as timeline:
                report, poison = load(target, rides=args.rides, clients=args.clients, seed=11,
                                      poison_every=round(1 / args.poison) if args.poison else 0, sign=sign,
                                      on_outcome=timeline.count)
                sent_at = time.monotonic() - started
                summary = report.summary()
                print(f"[{mode}] sent {args.rides} rides in {sent_at:.1f} s ({args.rides / sent_at:.1f}/s): "
                      f"{summary['statuses']}", flush=True)
                while queued(target):
                    time.sleep(0.2)
                drained_at = time.monotonic() - started
            usage = tree(process.pid)
            peaks = {p.pid: peak_rss_mb(p.pid) for p in usage}
            status = ControlClient(target.endpoint_url or "", target.ca_bundle).call("GET", "status")
            deliveries = sum(m["records"] for m in status["mappings"].values())
            print(f"[{mode}] drained {drained_at:.1f} s after the first send: {deliveries} deliveries "
                  f"({deliveries / drained_at:.1f}/s)", flush=True)
            reconciliation = reconcile(target, report.accepted())
            ok = exact(target, reconciliation, args.rides, poison)
            charges = charge_counts(reconciliation)
            print(f"[{mode}] accounts: {charges['customers']} customers, {charges['double_charges']} double charges, "
                  f"{charges['missed_charges']} missed charges (both must be 0)", flush=True)
        finally:
            stop_seconds = stop_local_cloud(process)
    cpu = {role: round(sum(p.cpu_seconds - before.get(p.pid, 0.0) for p in members), 1)
           for role, members in by_role(usage, process.pid).items()}
    return {
        "mode": mode, "enforcement": secure, "tls": secure, "rides": args.rides, "clients": args.clients,
        "failure_rate": args.failure_rate, "poison": poison, "ready_seconds": round(ready_seconds, 2),
        "stop_seconds": round(stop_seconds, 2), "send_seconds": round(sent_at, 1),
        "drained_seconds": round(drained_at, 1), "rides_per_second": round(args.rides / drained_at, 1),
        "send_rides_per_second": round(args.rides / sent_at, 1), "deliveries": deliveries,
        "deliveries_per_second": round(deliveries / drained_at, 1), "raw_sqs_messages_per_second": round(raw, 1),
        "ratio_to_raw": round(deliveries / drained_at / raw, 2),
        "api": {k: summary[k] for k in ("statuses", "retries", "latency_ms")},
        "cpu_seconds_by_process": cpu,
        "cpu_seconds_per_1000_rides": {role: round(seconds * 1000 / args.rides, 2) for role, seconds in cpu.items()},
        "peak_rss_mb_largest_process": round(max(peaks.values()), 1),
        "peak_rss_mb_all_processes": round(sum(peaks.values()), 1),
        "accounts": charges, "charges_out_of_order": out_of_order(reconciliation),
        "reconciliation": {**reconciliation.as_dict(), "exact": ok},
        "timeline": timeline.as_dict()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rides", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--failure-rate", type=float, default=0.3)
    parser.add_argument("--poison", type=float, default=0.05, help="poison messages per ride, published to the topic")
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--raw-messages", type=int, default=3000)
    parser.add_argument("--api-rate-limit", type=int, default=10_000, help="apiRateLimit for this run (cdk.json: 50)")
    parser.add_argument("--api-burst-limit", type=int, default=5_000, help="apiBurstLimit for this run (cdk.json: 100)")
    parser.add_argument("--compare", action=argparse.BooleanOptionalAction, default=True,
                        help="also run with enforcement and TLS off, with the POST unsigned, and with ordering fifo, "
                             "right after, and record what each costs")
    parser.add_argument("--fifo-rides", type=int, default=2_000,
                        help="rides of the ordering-fifo run: each failed record holds its customer back for the "
                             "(scaled) visibility timeout, so FIFO drains far slower under 30%% failures")
    parser.add_argument("--sample-seconds", type=float, default=3.0,
                        help="seconds between two samples of the queues for the result's timeline (bench/timeline.py)")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="where the result goes (a small trial run: a file outside bench/results/)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        cdk_out, open_out, fifo_out = (Path(scratch) / name for name in ("cdk.out", "cdk.out.unsigned",
                                                                          "cdk.out.fifo"))
        settings = synthesize_for_load(cdk_out, args.api_rate_limit, args.api_burst_limit)
        print(f"synthesized with {settings} (raised for the load test; cdk.json keeps its defaults)", flush=True)
        on = run_once(args, cdk_out, secure=True, mode="everything on")
        others: dict[str, dict[str, Any]] = {}
        if args.compare:
            others["off"] = run_once(args, cdk_out, secure=False, mode="enforcement and TLS off")
            synthesize_for_load(open_out, args.api_rate_limit, args.api_burst_limit, authorization="none")
            others["unsigned"] = run_once(args, open_out, secure=True, sign=False,
                                          mode="POST unsigned (apiAuthorization none)")
            synthesize_for_load(fifo_out, args.api_rate_limit, args.api_burst_limit, ordering="fifo")
            fifo_args = argparse.Namespace(**{**vars(args), "rides": args.fifo_rides})
            others["fifo"] = {**run_once(fifo_args, fifo_out, secure=True, mode="ordering fifo"),
                              "settings": {"ordering": "fifo", "maxReceiveCount": FIFO_MAX_RECEIVE_COUNT}}
    figures: dict[str, Any] = {"settings": settings, **on, **others}
    if others:
        figures["cost_of_enforcement_and_tls"] = round(on["drained_seconds"] / others["off"]["drained_seconds"] - 1, 3)
        figures["cost_of_signing"] = round(on["drained_seconds"] / others["unsigned"]["drained_seconds"] - 1, 3)
        figures["fifo_rides_per_second_vs_standard"] = round(
            others["fifo"]["rides_per_second"] / on["rides_per_second"], 2)
    result = write_result(args.output, "local cloud end to end at load",
                          f"python -m bench.local_cloud_load --rides {args.rides} --clients {args.clients}", figures)
    print(json.dumps({k: v for k, v in result.items() if k not in ("reconciliation", "timeline", *others)}, indent=1))
    ok = all(run["reconciliation"]["exact"] for run in (on, *others.values()))
    print(f"reconciliation: {'exact' if ok else 'NOT EXACT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
