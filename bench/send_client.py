"""What `wildrydes send` itself costs: its client's CPU and ceiling against an API that answers at once.

    python -m bench.send_client [--requests 5000] [--concurrency 16] [--delay-ms 0 20]

A stub API (a separate process, so its CPU is not counted) answers every POST with 201 {"id"}, after
`delay` milliseconds (0: at once; 20: about what the local cloud's producer takes). The load
generator (ops/send.py, ops/senders.py: threads sharing one httpx pool) sends `requests` rides through it; the
client's own process CPU time per request and the achieved rate are recorded. The point: the client
must not be what limits a load test of the local cloud (10,000 rides at >= 55 rides/s with 16 clients).
Writes bench/results/send_client.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ops.send import drive
from ops.senders import ApiSender
from ops.traffic import ride_mix

RESULTS = Path(__file__).resolve().parent / "results" / "send_client.json"


def _serve(port_queue: multiprocessing.Queue, delay: float) -> None:
    class Stub(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway does

        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if delay:
                time.sleep(delay)
            body = json.dumps({"id": str(uuid.uuid4())}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def measure(requests: int, concurrency: int, delay_ms: float) -> dict[str, float]:
    ports: multiprocessing.Queue = multiprocessing.Queue()
    stub = multiprocessing.Process(target=_serve, args=(ports, delay_ms / 1000), daemon=True)
    stub.start()
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=10)}/prod/submit-ride-completion"
        sender = ApiSender(url, concurrency=concurrency, retries=0, timeout=30)
        cpu = time.process_time()
        report = drive(ride_mix(requests), sender, concurrency=concurrency)
        cpu = time.process_time() - cpu
        sender.close()
    finally:
        stub.terminate()
    summary = report.summary()
    assert summary["accepted"] == requests, summary
    return {"delay_ms": delay_ms, "requests": requests, "concurrency": concurrency,
            "achieved_rate": summary["achieved_rate"], "client_cpu_ms_per_request": round(cpu / requests * 1000, 3),
            "latency_p50_ms": summary["latency_ms"]["p50"], "latency_p99_ms": summary["latency_ms"]["p99"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--delay-ms", type=float, nargs="+", default=[0.0, 20.0])
    args = parser.parse_args()
    rows = [measure(args.requests, args.concurrency, delay) for delay in args.delay_ms]
    print(f"{'stub delay':>10} {'rate (req/s)':>13} {'client CPU/req':>15} {'p50':>8} {'p99':>8}")
    for row in rows:
        print(f"{row['delay_ms']:>8.0f} ms {row['achieved_rate']:>13,.0f} {row['client_cpu_ms_per_request']:>12.2f} ms "
              f"{row['latency_p50_ms']:>5.1f} ms {row['latency_p99_ms']:>5.1f} ms")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                                   "measured": time.strftime("%Y-%m-%d"), "rows": rows}, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


if __name__ == "__main__":
    main()
