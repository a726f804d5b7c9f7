"""Requests/s of `harness load` vs the same load as a plain locustfile under the `locust` CLI.

Side by side in one run, against the same trivial target (inventory's GET /healthz on
127.0.0.1, the fleet booted once), alternating harness / plain for --rounds rounds; both
rates come from each run's own Locust JSON (requests / (last request - first request)).
Target: harness/plain >= 0.95. Also reports the harness process's CPU during the run
(its polling and the live display) and for the whole call (setup, reports, plots).
Prints one JSON object. Usage:

    python benchmarks/load_throughput.py [--users 10] [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from harness.fleet.launch import launch
from harness.load.runner import STATS_PREFIX
from harness.load.session import run_profile

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.95
PLAIN = """\
from locust import FastHttpUser, constant, task


class Plain(FastHttpUser):
    wait_time = constant(0)

    @task
    def healthz(self):
        self.client.get("{path}", name="healthz")
"""


def rate(stats_json: Path) -> float:
    entries = json.loads(stats_json.read_text())
    requests = sum(e["num_requests"] for e in entries)
    first = min(e["start_time"] for e in entries)
    last = max(e["last_request_timestamp"] for e in entries)
    return requests / (last - first)


def harness_run(url: str, work: Path, users: int, seconds: int, workers: int = 0) -> dict[str, Any]:
    profile = work / "bench.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": "bench",
                "base_url": url,
                "stages": [{"duration": f"{seconds}s", "users": users, "spawn_rate": users * 10}],
                "workers": workers,
                "tasks": [{"name": "healthz", "request": {"path": "/healthz"}}],
            }
        )
    )
    cpu: dict[str, float] = {}

    def on_status(status: dict[str, Any]) -> None:
        times = os.times()
        cpu.setdefault("first", times.user + times.system)
        cpu["last"] = times.user + times.system
        cpu.setdefault("first_wall", time.monotonic())
        cpu["last_wall"] = time.monotonic()

    before, began = os.times(), time.monotonic()
    out = work / f"harness-{time.monotonic_ns()}"
    run_profile(profile, report_dir=out, on_status=on_status, step_summary=False)
    after, wall = os.times(), time.monotonic() - began
    during_wall = cpu["last_wall"] - cpu["first_wall"]
    return {
        "rps": rate(out / "raw" / f"{STATS_PREFIX}.json"),
        "parent_cpu_s_during_run": round(cpu["last"] - cpu["first"], 3),
        "parent_cpu_pct_during_run": round((cpu["last"] - cpu["first"]) / during_wall * 100, 2),
        "parent_cpu_s_whole_call": round(
            (after.user + after.system) - (before.user + before.system), 3
        ),
        "locust_cpu_s": round(
            (after.children_user + after.children_system)
            - (before.children_user + before.children_system),
            3,
        ),
        "wall_s": round(wall, 2),
    }


def plain_run(url: str, work: Path, users: int, seconds: int) -> float:
    locustfile = work / "plain_locustfile.py"
    locustfile.write_text(PLAIN.format(path="/healthz"))
    prefix = work / f"plain-{time.monotonic_ns()}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(locustfile),
            "--headless",
            "--only-summary",
            "-u",
            str(users),
            "-r",
            str(users * 10),
            "-t",
            f"{seconds}s",
            "--host",
            url,
            "--json-file",
            str(prefix),
            "--loglevel",
            "WARNING",
        ],
        check=False,
        capture_output=True,
        cwd=work,
        timeout=seconds + 60,
    )
    return rate(Path(f"{prefix}.json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="load-bench-") as tmp,
        launch(ROOT / "sample_services" / "fleet.yaml", proxied=False) as fleet,
    ):
        url = fleet.url("inventory")
        work = Path(tmp)
        harness_runs, plain_rps = [], []
        for _ in range(args.rounds):
            harness_runs.append(harness_run(url, work, args.users, args.seconds))
            plain_rps.append(plain_run(url, work, args.users, args.seconds))
    harness_rps = [r["rps"] for r in harness_runs]
    ratio = statistics.median(harness_rps) / statistics.median(plain_rps)
    print(
        json.dumps(
            {
                "benchmark": "load_throughput",
                "target": "inventory GET /healthz on 127.0.0.1",
                "users": args.users,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "cores": os.cpu_count(),
                "harness_rps": [round(x, 1) for x in harness_rps],
                "plain_locust_rps": [round(x, 1) for x in plain_rps],
                "ratio_median": round(ratio, 3),
                "target_ratio": TARGET_RATIO,
                "ok": ratio >= TARGET_RATIO,
                "harness_parent_cpu": [
                    {k: v for k, v in r.items() if k != "rps"} for r in harness_runs
                ],
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
