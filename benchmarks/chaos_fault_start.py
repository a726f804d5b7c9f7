"""Time from a fault's planned start to the toxic being active, as a game-day schedules it.

A real toxiproxy-server and one proxy in front of a tiny HTTP upstream; each round plans a
latency toxic a little in the future, waits for that moment the way the game-day runner
does (on the wall clock), injects it through the fleet's fault path (EdgeFaults with a
ProxyRecovery: the proxy is known, the toxic POSTed), and records when inject() returned;
a request on a fresh connection right after shows the latency (proof the toxic is active).
Reverts between rounds (read back and verified) and times those too. Prints
one JSON object (milliseconds: median and p95). Usage:

    python benchmarks/chaos_fault_start.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.faults.edge import EdgeFaults  # noqa: E402
from harness.faults.recovery import ProxyRecovery  # noqa: E402
from harness.faults.toxiproxy import ToxiproxyClient  # noqa: E402
from harness.infra.local_toxiproxy import LocalToxiproxy  # noqa: E402
from harness.infra.ports import free_port  # noqa: E402

LATENCY_MS = 200


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 2),
        "p95_ms": round(_p95(values), 2),
        "max_ms": round(max(values), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalToxiproxy(Path(tmp))
        server.start()
        try:
            client = ToxiproxyClient(server.api_url)
            proxy = client.create_proxy(
                "a__b", f"127.0.0.1:{free_port()}", f"127.0.0.1:{upstream.server_address[1]}"
            )
            url = f"http://{proxy.listen}/"
            injected: list[float] = []
            effective: list[float] = []
            reverted: list[float] = []
            with ProxyRecovery(server.api_url) as recovery:
                faults = EdgeFaults(client, proxy.name, recovery)
                for _ in range(args.rounds):
                    fault = faults.latency(LATENCY_MS)
                    planned = time.time() + 0.05
                    while (left := planned - time.time()) > 0:
                        time.sleep(min(left, 0.25))
                    fault.inject()
                    injected.append((time.time() - planned) * 1000)
                    # A fresh connection each time: toxics act per connection.
                    began = time.perf_counter()
                    httpx.get(url, timeout=5.0)
                    took = (time.perf_counter() - began) * 1000
                    if took >= LATENCY_MS:
                        effective.append(took)
                    began = time.perf_counter()
                    fault.revert()
                    reverted.append((time.perf_counter() - began) * 1000)
            client.close()
        finally:
            server.process.stop()
            upstream.shutdown()
    print(
        json.dumps(
            {
                "benchmark": "chaos fault start latency (planned start -> toxic active)",
                "rounds": args.rounds,
                "inject_returned": _summary(injected),
                # Proof the toxic was active when inject() returned: the next request on a
                # fresh connection carries the latency (its duration, ms).
                "next_request_delayed": _summary(effective) if effective else None,
                "rounds_with_the_latency_seen": len(effective),
                "revert_verified": _summary(reverted),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
