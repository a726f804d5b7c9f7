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
                                    [--no-template-cache] [--zygote both|on|off]

``--zygote both`` (the default) boots the fleet with its ``module:`` services forked from
the zygote (harness.fleet.zygote, the default launcher) and with a fresh interpreter each
(``zygote=False``), alternating, ``--runs`` times each, so both see the same machine; the
figures are per mode, with the ratio of their medians.

PostgreSQL clusters are copies of a cached initdb result (harness.infra.postgres_template;
the first boot on a machine runs initdb and fills the cache). ``--no-template-cache``
runs initdb on every boot: a machine's very first boot, every time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

from harness.fleet.launch import launch
from harness.fleet.manifest import Manifest, load_manifest
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


_MODE = {True: "zygote", False: "plain"}


class _Samples:
    """Every figure of the boots of one mode."""

    def __init__(self) -> None:
        self.boots: list[float] = []
        self.teardowns: list[float] = []
        self.phases: dict[str, list[float]] = {}
        self.teardown_steps: dict[str, list[float]] = {}
        self.started: dict[str, list[float]] = {}
        self.ready: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def boot_once(self, manifest: Manifest, provider: str, zygote: bool) -> None:
        cpu_before = _own_cpu()
        began = time.perf_counter()
        fleet = launch(manifest, provider=provider, zygote=zygote)
        self.boots.append(time.perf_counter() - began)
        for part, seconds in _boot_cpu(cpu_before).items():
            self.cpu.setdefault(part, []).append(seconds)
        for phase, seconds in fleet.timings.items():
            self.phases.setdefault(phase, []).append(seconds)
        for name, service in fleet.services.items():
            if service.started_after is not None and service.ready_seconds is not None:
                self.started.setdefault(name, []).append(service.started_after)
                self.ready.setdefault(name, []).append(
                    service.started_after + service.ready_seconds
                )
        forked = fleet.zygote is not None
        began = time.perf_counter()
        fleet.close()
        self.teardowns.append(time.perf_counter() - began)
        for step, seconds in fleet.teardown_timings.items():
            self.teardown_steps.setdefault(step, []).append(seconds)
        if fleet.teardown_problems:
            raise SystemExit(f"teardown problems: {fleet.teardown_problems}")
        if forked != zygote:
            raise SystemExit(f"asked for zygote={zygote}, the fleet ran with {forked}")

    def summary(self) -> dict[str, Any]:
        return {
            "boot_s": [round(b, 3) for b in self.boots],
            "boot_median_s": round(statistics.median(self.boots), 3),
            "phase_median_s": _medians(self.phases),
            "service_started_median_s": _medians(self.started),
            "service_ready_median_s": _medians(self.ready),
            # CPU seconds the boot cost (the harness and everything it started): what a
            # busy machine cannot inflate, and what bounds the boot on idle cores.
            "boot_cpu_median_s": _medians(self.cpu),
            "teardown_s": [round(t, 3) for t in self.teardowns],
            "teardown_median_s": round(statistics.median(self.teardowns), 3),
            "teardown_step_median_s": _medians(self.teardown_steps),
        }


def _own_cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _boot_cpu(before: float) -> dict[str, float]:
    """CPU seconds since ``before`` by the harness (and the children it reaped) and by every
    live descendant, with what it reaped in turn (PostgreSQL's backends, say); by kind."""
    parts = {"harness": _own_cpu() - before}
    for proc in psutil.Process().children(recursive=True):
        try:
            times = proc.cpu_times()
            name = proc.name()
            cmdline = proc.cmdline()
        except psutil.Error:
            continue
        spent = times.user + times.system + times.children_user + times.children_system
        if any(arg.endswith("zygote_main.py") for arg in cmdline):
            # The zygote and the services it forked (which keep its command line).
            kind = "zygote+services"
        elif "-m" in cmdline:
            kind = "services"
        else:
            kind = name.split("-")[0]
        parts[kind] = parts.get(kind, 0.0) + spent
    parts["total"] = sum(parts.values())
    return {kind: round(seconds, 3) for kind, seconds in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "sample_services" / "fleet.yaml")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--provider", default="local")
    parser.add_argument("--no-template-cache", action="store_true", help="run initdb on every boot")
    parser.add_argument("--zygote", choices=("both", "on", "off"), default="both")
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
    modes = {"on": [True], "off": [False], "both": [False, True]}[args.zygote]
    samples = {zygote: _Samples() for zygote in modes}
    load_before = _load()
    for _ in range(args.runs):
        for zygote in modes:
            samples[zygote].boot_once(manifest, args.provider, zygote)
    results = {_MODE[zygote]: found.summary() for zygote, found in samples.items()}
    result: dict[str, Any] = {
        "benchmark": "fleet_boot",
        "manifest": str(args.manifest),
        "provider": args.provider,
        "services": len(manifest.services),
        "infra": len(manifest.infra),
        "preload": len(manifest.preload),
        "runs": args.runs,
        "target_s": TARGET_S,
        "teardown_target_s": TEARDOWN_TARGET_S,
        # The default launcher's figures decide the targets.
        "boot_median_s": results[_MODE[modes[-1]]]["boot_median_s"],
        "target_met": results[_MODE[modes[-1]]]["boot_median_s"] < TARGET_S,
        "teardown_target_met": all(
            mode["teardown_median_s"] < TEARDOWN_TARGET_S for mode in results.values()
        ),
        "modes": results,
        "postgres_template_cache": cache,
        "cores": os.cpu_count(),
        "load_average": {"before": load_before, "after": _load()},
        "note": "a shared machine inflates every figure: read them with the load average",
    }
    if len(modes) == 2:
        plain, forked = results[_MODE[False]], results[_MODE[True]]
        result["plain_over_zygote_boot_median"] = round(
            plain["boot_median_s"] / forked["boot_median_s"], 2
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
