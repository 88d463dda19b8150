"""The local cloud's start, stop and front door: time to ready, time to stop (idle and under load), a burst.

    python -m bench.local_cloud_lifecycle [--runs 5]

Each run starts `make local` as users do (`python -m scripts.local_cloud`, a session of its own) and
times its process start to `.local/endpoints.json` (ready; synth excluded: cdk.out exists), then sends
a burst of 100 clients that each post a valid ride at once on a connection of their own (the stage's
burst limit) and times it until the last answer (twice: the first burst also starts the producer's
other nine environments), then sends Ctrl-C to the process group as a terminal does
and times it until the process has exited. Then it starts a second one, has 16 clients post rides back
to back (the API, the producers, the queues and the consumers all busy) and times a Ctrl-C sent 3 s
after the first ride was taken. Medians over the runs go to bench/results/local_cloud_lifecycle.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx

from aws_clients import local_session
from aws_clients.signing import ExecuteApiAuth
from bench.local_cloud_load import start_local_cloud, stop_local_cloud
from bench.record import write_result
from ops.target import local_target

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "local_cloud_lifecycle.json"
RIDE = {"from": "Berlin", "to": "Munich", "duration": 480, "distance": 600, "customer": "cmr", "fare": 256.5}
BURST = 100
LOAD_CLIENTS, LOAD_SECONDS = 16, 3.0
SIGNER = ExecuteApiAuth(local_session("us-east-1"), "us-east-1")  # the API is IAM-authorized; local keys: root


def burst(url: str, name: str, clients: int = BURST) -> tuple[float, Counter[int]]:
    """Seconds until every one of `clients` simultaneous POSTs (on connections of their own) was answered."""
    body = json.dumps(RIDE)
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=clients), auth=SIGNER) as client, \
            ThreadPoolExecutor(max_workers=clients) as pool:
        def post(index: int) -> int:
            return client.post(url, content=body, headers={"Idempotency-Key": f"{name}-{index}"}).status_code

        started = time.monotonic()
        statuses = Counter(pool.map(post, range(clients)))
        return time.monotonic() - started, statuses


def stop_under_load(process: subprocess.Popen[str], url: str, name: str) -> tuple[float, int]:
    """Ctrl-C while LOAD_CLIENTS post rides back to back, LOAD_SECONDS after the first ride was taken:
    seconds until the process exited, and the rides taken."""
    body, first_taken, gone = json.dumps(RIDE), threading.Event(), threading.Event()

    def poster(client_index: int) -> int:
        taken = 0
        with httpx.Client(timeout=30, auth=SIGNER) as client:
            while not gone.is_set():
                key = {"Idempotency-Key": f"{name}-{client_index}-{taken}-{time.monotonic_ns()}"}
                try:
                    response = client.post(url, content=body, headers=key)
                except httpx.HTTPError:  # the local cloud is going or gone
                    break
                if response.status_code == 201:
                    taken += 1
                    first_taken.set()
        return taken

    with ThreadPoolExecutor(max_workers=LOAD_CLIENTS) as pool:
        posters = [pool.submit(poster, client_index) for client_index in range(LOAD_CLIENTS)]
        try:
            if not first_taken.wait(timeout=60):
                raise SystemExit("no ride was taken in 60 s: the local cloud does not answer")
            time.sleep(LOAD_SECONDS)
            seconds = stop_local_cloud(process)
        finally:
            gone.set()
        return seconds, sum(future.result() for future in posters)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--burst", type=int, default=BURST, help=f"clients at once (default {BURST})")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out")
    args = parser.parse_args(argv)
    options = SimpleNamespace(failure_rate=0.0, time_scale=1.0)
    ready, stop, statuses = [], [], Counter()
    loaded_stop, loaded_rides = [], []
    bursts: dict[str, list[float]] = {"first": [], "warm": []}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as scratch:
            endpoints_file = Path(scratch) / "endpoints.json"
            process, seconds = start_local_cloud(options, endpoints_file, args.cdk_out, secure=True)
            ready.append(seconds)
            try:
                url = local_target(endpoints_file, probe=False).api_url
                time.sleep(2)  # one producer environment is started in the background after ready
                for kind in bursts:  # the first starts the other nine environments (cold starts); then warm
                    elapsed, answered = burst(url, f"{kind}-{run}", args.burst)
                    bursts[kind].append(args.burst / elapsed)
                    statuses.update(answered)
            finally:
                stop.append(stop_local_cloud(process))
            endpoints_file.unlink(missing_ok=True)  # the local cloud removes it as it stops
            process, _ = start_local_cloud(options, endpoints_file, args.cdk_out, secure=True)
            try:
                seconds, rides = stop_under_load(process, local_target(endpoints_file, probe=False).api_url,
                                                 f"load-{run}")
                loaded_stop.append(seconds)
                loaded_rides.append(rides)
            finally:
                if process.poll() is None:
                    stop_local_cloud(process)
        print(f"run {run + 1}: ready {ready[-1]:.2f} s, bursts {bursts['first'][-1]:.0f} then "
              f"{bursts['warm'][-1]:.0f} requests/s, stop {stop[-1]:.2f} s, under load {loaded_stop[-1]:.2f} s "
              f"({loaded_rides[-1]} rides taken)", flush=True)
    result = write_result(
        args.output, "local cloud: time to ready, time to stop, a burst of 100 concurrent clients",
        f"python -m bench.local_cloud_lifecycle --runs {args.runs}"
        + (f" --burst {args.burst}" if args.burst != BURST else ""), {
            "runs": args.runs,
            "ready_seconds": {"median": round(statistics.median(ready), 2), "all": [round(s, 2) for s in ready]},
            "stop_seconds": {"median": round(statistics.median(stop), 2), "all": [round(s, 2) for s in stop]},
            "stop_under_load_seconds": {"median": round(statistics.median(loaded_stop), 2),
                                        "all": [round(s, 2) for s in loaded_stop],
                                        "load": f"{LOAD_CLIENTS} clients posting back to back, Ctrl-C "
                                                f"{LOAD_SECONDS:g} s after the first ride taken",
                                        "rides_taken": loaded_rides},
            "burst_requests_per_second": {kind: {"median": round(statistics.median(figures), 1),
                                                 "all": [round(r, 1) for r in figures]}
                                          for kind, figures in bursts.items()},
            "burst_statuses": {str(k): v for k, v in sorted(statuses.items())}})
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
