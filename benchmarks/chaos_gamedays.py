"""Wall time of every flagship game-day, and how well the runner keeps its timeline.

Runs each scenario of scenarios/chaos/ on one sample fleet (as `pytest --chaos` does) and
prints one JSON object: per scenario the verdict and wall time; over all of them the fault
start latency (an action's planned start -> its fault active, from the journals; median,
p95) and the probe period accuracy (time between consecutive passes of the during checks
minus the planned period; median and p95 of its absolute value). Usage:

    python benchmarks/chaos_gamedays.py [--only payments-down]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.chaos.scenario import load_scenario  # noqa: E402
from harness.chaos.session import run_gameday  # noqa: E402
from harness.config import load_config  # noqa: E402
from harness.fleet.launch import launch_from_config  # noqa: E402
from harness.matrix.expectations import EXPECTATIONS_FILE, WORKLOAD_SUFFIX  # noqa: E402


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "median_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(_p95(values) * 1000, 1),
        "n": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    paths = sorted(
        p
        for p in (ROOT / "scenarios" / "chaos").glob("*.yaml")
        if p.name != EXPECTATIONS_FILE and not p.name.endswith(WORKLOAD_SUFFIX)  # the matrix's
    )
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    config = load_config(start=ROOT)
    runs: dict[str, dict[str, object]] = {}
    starts: list[float] = []
    periods: list[float] = []
    began_all = time.monotonic()
    with tempfile.TemporaryDirectory() as out, launch_from_config(config) as fleet:
        for path in paths:
            spec = load_scenario(path)
            began = time.monotonic()
            result = run_gameday(
                spec,
                fleet=fleet,
                config=config,
                report_dir=Path(out) / path.stem,
                step_summary=False,
            )
            runs[path.stem] = {
                "verdict": result.verdict.value,
                "wall_s": round(time.monotonic() - began, 1),
                "recovered_after_s": result.recovered_after_s,
            }
            for action in result.actions:
                if action.active_s is not None:
                    starts.append(action.active_s - action.planned_start_s)
            during = spec.steady_state.check.during
            if during is not None:
                label = next(
                    (p.label for p in spec.steady_state.probes if "during" in p.when), None
                )
                seen = sorted(
                    c.at_s for c in result.checks if c.phase == "during" and c.check == label
                )
                periods += [abs((b - a) - during.every) for a, b in itertools.pairwise(seen)]
    print(
        json.dumps(
            {
                "benchmark": "chaos flagship game-days",
                "scenarios": runs,
                "all_passed": all(r["verdict"] == "passed" for r in runs.values()),
                "total_wall_s_with_one_fleet_boot": round(time.monotonic() - began_all, 1),
                "fault_start_latency": _summary(starts),
                "probe_period_error": _summary(periods),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
