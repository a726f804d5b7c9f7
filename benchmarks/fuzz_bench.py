"""`pytest --fuzz` over the whole sample fleet at CI settings: wall time and cases/s per service.

Target: every operation fuzzed with >= 100 cases (max_examples 100; operations whose input
space is smaller, such as GET /healthz, end early) and >= 50 state-machine runs, all in
<= 180 s on 2 cores. Runs `pytest --fuzz tests/fuzz` as CI does (CI=1: the configured seed,
derandomized), reads the run's fuzz.json and prints one JSON object. The load average at
the start is printed too: the machine may be shared. Usage:

    python benchmarks/fuzz_bench.py [--runs 1] [--max-examples 100]
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

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 180.0
TARGET_CASES_PER_OPERATION = 100
TARGET_MACHINE_RUNS = 50
# Operations whose whole input space is a handful of requests (no parameters, no body).
TRIVIAL = {"GET /healthz", "GET /readyz"}


def one_run(max_examples: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fuzz-bench-") as reports:
        env = {**os.environ, "CI": "1", "HARNESS_REPORT_DIR": reports}
        env.pop("HARNESS_FUZZ_SEED", None)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--fuzz",
            "tests/fuzz",
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        if max_examples is not None:
            command += ["--fuzz-max-examples", str(max_examples)]
        began = time.perf_counter()
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - began
        report_file = Path(reports) / "fuzz" / "fuzz.json"
        if not report_file.is_file():
            raise SystemExit(
                f"no fuzz report; pytest said:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
            )
        report = json.loads(report_file.read_text())
    operations = [t for t in report["targets"] if t["operation"] != "stateful"]
    substantial = [t for t in operations if t["operation"] not in TRIVIAL]
    machines = report.get("machines", [])
    return {
        "exit_code": done.returncode,
        "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
        "wall_s": round(wall, 1),
        "fuzz_s": report["seconds"],
        "machine_s": round(sum(m["seconds"] for m in machines), 1),
        "cases": report["cases"],
        "operations": len(operations),
        "min_cases_per_operation": min(t["cases"] for t in substantial),
        "fewest_cases": sorted((t["cases"], t["id"]) for t in substantial)[:3],
        "machine_runs": sum(m["runs"] for m in machines),
        "new_failures": report["new_failures"],
        "services": report["services"],
        "seed": report["seed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--max-examples", type=int, default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    runs = [one_run(args.max_examples) for _ in range(args.runs)]
    walls = [r["wall_s"] for r in runs]
    last = runs[-1]
    print(
        json.dumps(
            {
                "benchmark": "fuzz",
                "runs": args.runs,
                "cpus": os.cpu_count(),
                "load_average_before": round(load_before, 2),
                "wall_s": walls,
                "wall_median_s": statistics.median(walls),
                "target_s": TARGET_S,
                "cases_per_second_by_service": {
                    name: rate["cases_per_second"] for name, rate in last["services"].items()
                },
                "runs_detail": runs,
                "met": {
                    "wall": statistics.median(walls) <= TARGET_S,
                    "cases_per_operation": last["min_cases_per_operation"]
                    >= TARGET_CASES_PER_OPERATION,
                    "machine_runs": last["machine_runs"] >= TARGET_MACHINE_RUNS,
                    "passed": all(r["exit_code"] == 0 for r in runs),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
