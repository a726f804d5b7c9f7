"""What Toxiproxy on every edge costs: the same fleet proxied and bypassed, in one run.

Two figures:
- checkout latency p50 through the gateway (the manifest's `smoke:` request, POST
  /api/orders until CONFIRMED, as `harness fleet smoke` measures it), every edge proxied
  vs ``proxied=False`` (callers wired straight to their callees);
- one HTTP hop, isolated: GET /healthz of a service directly vs through the proxy of an
  edge that leads to it (keep-alive connection, many samples): the added ms per hop.

The gateway's rate limit is raised for the run (a benchmark client is not a tenant).
Target: <= 1 ms added per hop. Prints one JSON object. Usage:

    python benchmarks/proxy_overhead.py [--manifest ...] [--checkouts 30] [--hops 500]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest, load_manifest
from harness.fleet.smoke import SmokeFlow

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS_PER_HOP = 1.0
HOP_EDGE = "gateway->payments"


def unlimited(manifest: Manifest, gateway: str) -> Manifest:
    services = dict(manifest.services)
    spec = services[gateway]
    env = {**spec.env, "RATE_LIMIT_RPS": "100000", "RATE_LIMIT_BURST": "100000"}
    services[gateway] = spec.model_copy(update={"env": env})
    # model_copy keeps the source path: root and cwd stay relative to the original file.
    return manifest.model_copy(update={"services": services})


def checkout_p50(fleet: Fleet, count: int) -> tuple[float, list[float]]:
    # The checkout is the sample manifest's own `smoke:` request (and its poll).
    spec = fleet.manifest.smoke
    if spec is None:
        raise SystemExit(f"{fleet.manifest.path}: no `smoke:` section to measure")
    with SmokeFlow(fleet, spec) as flow:
        flow.prepare()
        for _ in range(3):  # warm connections, caches and the saga worker
            flow.measure_ms()
        samples = [flow.measure_ms() for _ in range(count)]
    return statistics.median(samples), samples


def hop_p50(url: str, count: int) -> float:
    with httpx.Client(trust_env=False, timeout=5.0) as http:
        for _ in range(20):
            http.get(url).raise_for_status()
        samples = []
        for _ in range(count):
            began = time.perf_counter()
            http.get(url).raise_for_status()
            samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def measure(manifest: Manifest, proxied: bool, args: argparse.Namespace) -> dict[str, Any]:
    with launch(manifest, proxied=proxied) as fleet:
        p50, samples = checkout_p50(fleet, args.checkouts)
        result: dict[str, Any] = {
            "checkout_p50_ms": round(p50, 2),
            "checkout_samples": len(samples),
        }
        if proxied:
            edge = fleet.edges[HOP_EDGE]
            target = fleet.services[edge.edge.target]
            path = target.spec.health
            # Interleaved in blocks so both paths see the same machine load.
            direct, through = [], []
            for _ in range(5):
                direct.append(hop_p50(f"{target.url}{path}", args.hops // 5))
                through.append(hop_p50(f"http://{edge.listen.address}{path}", args.hops // 5))
            result["hop"] = {
                "edge": HOP_EDGE,
                "direct_p50_ms": round(statistics.median(direct), 3),
                "proxied_p50_ms": round(statistics.median(through), 3),
            }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "sample_services" / "fleet.yaml")
    parser.add_argument("--checkouts", type=int, default=30)
    parser.add_argument("--hops", type=int, default=500)
    args = parser.parse_args()

    manifest = unlimited(load_manifest(args.manifest), "gateway")
    load_before = os.getloadavg()[0]
    proxied = measure(manifest, True, args)
    direct = measure(manifest, False, args)
    hop = proxied["hop"]
    hop_added = hop["proxied_p50_ms"] - hop["direct_p50_ms"]
    checkout_added = proxied["checkout_p50_ms"] - direct["checkout_p50_ms"]
    print(
        json.dumps(
            {
                "benchmark": "proxy_overhead",
                "manifest": str(args.manifest),
                "checkout_p50_ms": {
                    "proxied": proxied["checkout_p50_ms"],
                    "direct": direct["checkout_p50_ms"],
                    "added": round(checkout_added, 2),
                    "samples_each": args.checkouts,
                    # Every round trip of a checkout crosses a proxy: 4 service calls
                    # (gateway->orders, orders->inventory x2, orders->payments) and each
                    # SQL statement of four services on their database edges.
                    "note": "all hops of a checkout, database round trips included",
                },
                "single_hop_p50_ms": {**hop, "added": round(hop_added, 3)},
                "per_hop_added_ms": round(hop_added, 3),
                "target_ms_per_hop": TARGET_MS_PER_HOP,
                "target_met": hop_added <= TARGET_MS_PER_HOP,
                "cores": os.cpu_count(),
                "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
