"""Wall time of the full fault matrix on the sample fleet, boot included, as CI runs it.

Runs `harness faults matrix` (the committed scenarios/chaos/expectations.yaml and its
workload) in a subprocess `--runs` times (default 2) and prints one JSON object: the wall
time of each run and their median, the boot time, the cells run / pruned / as expected,
the coverage, and the share of the 5-minute target the median uses (target: < 300 s on
2 cores). Usage:

    python benchmarks/fault_matrix.py [--runs 2] [--edges GLOB] [--faults GLOB]
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

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 300.0


def one_run(extra: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="matrix-bench-") as out:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "harness.cli", "faults", "matrix", "--report-dir", out, *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"},
        )
        wall = time.monotonic() - began
        report = Path(out) / "matrix.json"
        if not report.is_file():
            return {"wall_s": round(wall, 1), "exit": done.returncode, "error": done.stderr[-2000:]}
        data = json.loads(report.read_text())
    cells = data["cells"]
    return {
        "wall_s": round(wall, 1),
        "exit": done.returncode,
        "boot_s": round(data["boot_seconds"] or 0.0, 1),
        "cells_run": sum(1 for c in cells if c["status"] != "skipped"),
        "cells_skipped": sum(1 for c in cells if c["status"] == "skipped"),
        "pruned_edges": sorted(data["pruned"]),
        "as_expected": sum(1 for c in cells if c["as_expected"]),
        "coverage": data["coverage"]["overall"],
        # 429s waited out (the workload's pace keeps this at 0 on the sample fleet).
        "throttled": sum(c.get("throttled", 0) for c in cells),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "slowest_cells": sorted(
            ((c["edge"] + " x " + c["fault"], c["seconds"]) for c in cells),
            key=lambda pair: -pair[1],
        )[:5],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--edges", action="append", default=[])
    parser.add_argument("--faults", action="append", default=[])
    args = parser.parse_args()
    extra = [f"--edges={e}" for e in args.edges] + [f"--faults={f}" for f in args.faults]
    runs = [one_run(extra) for _ in range(args.runs)]
    walls = [float(str(r["wall_s"])) for r in runs]
    median = statistics.median(walls)
    print(
        json.dumps(
            {
                "benchmark": "fault_matrix",
                "cpus": os.cpu_count(),
                "runs": runs,
                "median_wall_s": round(median, 1),
                "target_s": TARGET_S,
                "median_over_target": round(median / TARGET_S, 3),
            },
            indent=2,
        )
    )
    return 0 if all(r["exit"] == 0 for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
