"""Fleet cold boot to all-ready, and teardown, median of N runs (target: boot under 3 s and
teardown under 1 s on 2 cores, local provider, sample fleet).

Each run starts from nothing: a fresh work directory, initdb, Redis, Toxiproxy, every
proxy, every database, every service process, awaited on its readiness path; then the
whole fleet is torn down and timed too. Boot phases overlap (servers boot while services
start); each is reported as the harness measured it (see ``Fleet.timings``), with each
service's start and ready time. The machine may be shared: the load average is printed
before and after, and the CPU count, so a slow figure can be read for what it is. Prints
one JSON object. Usage:

    python benchmarks/fleet_boot.py [--manifest sample_services/fleet.yaml] [--runs 5]
                                    [--no-template-cache]

PostgreSQL clusters are copies of a cached initdb result (harness.infra.postgres_template;
the first boot on a machine runs initdb and fills the cache). ``--no-template-cache``
runs initdb on every boot: a machine's very first boot, every time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from harness.fleet.launch import launch
from harness.fleet.manifest import load_manifest
from harness.infra import postgres_template

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0
TEARDOWN_TARGET_S = 1.0


def _medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {key: round(statistics.median(values), 3) for key, values in sorted(samples.items())}


def _load() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}


def _count(directory: Path) -> int:
    return (
        len([p for p in directory.iterdir() if not p.name.startswith(".")])
        if directory.is_dir()
        else 0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "sample_services" / "fleet.yaml")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--provider", default="local")
    parser.add_argument("--no-template-cache", action="store_true", help="run initdb on every boot")
    args = parser.parse_args()
    if args.no_template_cache:
        os.environ[postgres_template.TEMPLATES_ENV] = "off"
    templates = postgres_template.cache_root()
    cache = (
        {"dir": str(templates), "templates_before": _count(templates)}
        if templates is not None
        else "off"
    )

    manifest = load_manifest(args.manifest)
    boots: list[float] = []
    teardowns: list[float] = []
    phases: dict[str, list[float]] = {}
    teardown_steps: dict[str, list[float]] = {}
    started: dict[str, list[float]] = {}
    ready: dict[str, list[float]] = {}
    load_before = _load()
    for _ in range(args.runs):
        began = time.perf_counter()
        fleet = launch(manifest, provider=args.provider)
        boots.append(time.perf_counter() - began)
        for phase, seconds in fleet.timings.items():
            phases.setdefault(phase, []).append(seconds)
        for name, service in fleet.services.items():
            if service.started_after is not None and service.ready_seconds is not None:
                started.setdefault(name, []).append(service.started_after)
                ready.setdefault(name, []).append(service.started_after + service.ready_seconds)
        began = time.perf_counter()
        fleet.close()
        teardowns.append(time.perf_counter() - began)
        for step, seconds in fleet.teardown_timings.items():
            teardown_steps.setdefault(step, []).append(seconds)
        if fleet.teardown_problems:
            raise SystemExit(f"teardown problems: {fleet.teardown_problems}")

    median = statistics.median(boots)
    teardown = statistics.median(teardowns)
    result: dict[str, Any] = {
        "benchmark": "fleet_boot",
        "manifest": str(args.manifest),
        "provider": args.provider,
        "services": len(manifest.services),
        "infra": len(manifest.infra),
        "runs": args.runs,
        "boot_s": [round(b, 3) for b in boots],
        "boot_median_s": round(median, 3),
        "target_s": TARGET_S,
        "target_met": median < TARGET_S,
        "phase_median_s": _medians(phases),
        "service_started_median_s": _medians(started),
        "service_ready_median_s": _medians(ready),
        "teardown_s": [round(t, 3) for t in teardowns],
        "teardown_median_s": round(teardown, 3),
        "teardown_target_s": TEARDOWN_TARGET_S,
        "teardown_target_met": teardown < TEARDOWN_TARGET_S,
        "teardown_step_median_s": _medians(teardown_steps),
        "postgres_template_cache": cache,
        "cores": os.cpu_count(),
        "load_average": {"before": load_before, "after": _load()},
        "note": "a shared machine inflates every figure: read them with the load average",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
