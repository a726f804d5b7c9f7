"""Fleet cold boot to all-ready, median of N runs (target: <= 5 s on 2 cores, local provider).

Each run starts from nothing: a fresh work directory, initdb, Redis, Toxiproxy, every
proxy, every database, then every service awaited on its readiness path. Prints one JSON
object. Usage:

    python benchmarks/fleet_boot.py [--manifest sample_services/fleet.yaml] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from harness.fleet.launch import launch
from harness.fleet.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "sample_services" / "fleet.yaml")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--provider", default="local")
    args = parser.parse_args()

    manifest = load_manifest(args.manifest)
    boots: list[float] = []
    teardowns: list[float] = []
    phases: dict[str, list[float]] = {}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        began = time.perf_counter()
        fleet = launch(manifest, provider=args.provider)
        boots.append(time.perf_counter() - began)
        for phase, seconds in fleet.timings.items():
            phases.setdefault(phase, []).append(seconds)
        began = time.perf_counter()
        fleet.close()
        teardowns.append(time.perf_counter() - began)

    median = statistics.median(boots)
    print(
        json.dumps(
            {
                "benchmark": "fleet_boot",
                "manifest": str(args.manifest),
                "provider": args.provider,
                "services": len(manifest.services),
                "infra": len(manifest.infra),
                "runs": args.runs,
                "boot_s": [round(b, 3) for b in boots],
                "boot_median_s": round(median, 3),
                "target_s": TARGET_S,
                "target_met": median <= TARGET_S,
                "phase_median_s": {k: round(statistics.median(v), 3) for k, v in phases.items()},
                "teardown_median_s": round(statistics.median(teardowns), 3),
                "cores": os.cpu_count(),
                "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
