"""The fleet as containers against the fleet as processes, side by side, and the image build.

Boots: ``--runs`` rounds, each booting the same manifest once as processes and once as
containers (``fleet_backend = docker``), interleaved so that a machine busy for a while
slows both alike; each boot is timed to all-ready (``Fleet.boot_seconds``) and its teardown
too. The figure to read is the ratio of the medians (containers / processes), not the
seconds. The image: built from nothing (``--force``: wheel, wheelhouse, docker build), then
checked again with nothing changed (cached: the wheel and the content hash only). The load
average is printed before and after. Prints one JSON object. Usage:

    python benchmarks/fleet_containers.py [--manifest sample_services/fleet.yaml]
                                          [--runs 3] [--no-cold-build]

Needs a Docker engine and the base image (.ci/install-docker).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from harness.fleet.images import ensure_image
from harness.fleet.launch import launch
from harness.fleet.manifest import Manifest, load_manifest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}


def _tolerant(manifest: Manifest) -> Manifest:
    # A busy shared machine can take longer than a service's own ready_timeout; a benchmark
    # measures, it does not fail on the first slow boot.
    services = {
        name: spec.model_copy(update={"ready_timeout": 180.0})
        for name, spec in manifest.services.items()
    }
    tolerant = manifest.model_copy(update={"services": services})
    tolerant._path = manifest.path
    return tolerant


def _boot(manifest: Manifest, backend: str) -> dict[str, float]:
    began = time.monotonic()
    fleet = launch(manifest, fleet_backend=backend)  # type: ignore[arg-type]
    boot = time.monotonic() - began
    down = time.monotonic()
    fleet.close()
    return {
        "boot_s": round(fleet.boot_seconds or boot, 3),
        "services_s": round(fleet.timings.get("services", 0.0), 3),
        "teardown_s": round(time.monotonic() - down, 3),
        "problems": len(fleet.teardown_problems),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", default=str(ROOT / "sample_services" / "fleet.yaml"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-cold-build", action="store_true")
    args = parser.parse_args()
    manifest = _tolerant(load_manifest(args.manifest))
    result: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": _load()}
    if not args.no_cold_build:
        cold = ensure_image(manifest, force=True)
        assert cold is not None, "the manifest has no containers.build"
        result["image_cold"] = {"seconds": round(cold.seconds, 1), "timings": cold.timings}
    cached = ensure_image(manifest)
    assert cached is not None, "the manifest has no containers.build"
    assert cached.cached, cached
    result["image_cached"] = {"seconds": round(cached.seconds, 2), "timings": cached.timings}
    runs: dict[str, list[dict[str, float]]] = {"process": [], "docker": []}
    for _ in range(args.runs):
        for backend in ("process", "docker"):
            runs[backend].append(_boot(manifest, backend))
    medians = {
        backend: {
            key: round(statistics.median(run[key] for run in samples), 3)
            for key in ("boot_s", "services_s", "teardown_s")
        }
        for backend, samples in runs.items()
    }
    result["boot"] = {"runs": runs, "median": medians}
    result["ratio_docker_to_process"] = {
        key: round(medians["docker"][key] / medians["process"][key], 2)
        for key in ("boot_s", "teardown_s")
        if medians["process"][key]
    }
    result["load_after"] = _load()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
