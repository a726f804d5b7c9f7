"""Added wall time of `pytest --fuzz` from the conformance checks (issue 14). Target: < 20%.

Side by side, alternating, on the same machine: `pytest --fuzz tests/fuzz` as CI runs it
(CI=1: the configured seed, derandomized) with the shipped scenarios/fuzz/fuzz.yaml
(auth + idempotency checks, fleet proxied for the per-edge evidence) and with a copy of it
that turns the checks off and runs unproxied (the configuration before them). Prints one
JSON object: wall times, their ratio, and the checks' own seconds from fuzz.json. Usage:

    python benchmarks/fuzz_conformance_bench.py [--runs 1] [--max-examples N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "scenarios" / "fuzz" / "fuzz.yaml"
TARGET_RATIO = 1.20


def without_checks(directory: Path) -> Path:
    spec = yaml.safe_load(SHIPPED.read_text())
    spec["proxied"] = False
    spec["conformance"] = {"auth": False, "idempotency": False, "backend_traffic": False}
    path = directory / "fuzz.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    shutil.copy(SHIPPED.parent / "baseline.json", directory / "baseline.json")
    return path


def one_run(settings: Path | None, max_examples: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fuzz-conf-bench-") as reports:
        env = {**os.environ, "CI": "1", "HARNESS_REPORT_DIR": reports}
        env.pop("HARNESS_FUZZ_SEED", None)
        command = [sys.executable, "-m", "pytest", "--fuzz", "tests/fuzz", "-q"]
        command += ["-p", "no:cacheprovider"]
        if settings is not None:
            command += ["--fuzz-settings", str(settings)]
        if max_examples is not None:
            command += ["--fuzz-max-examples", str(max_examples)]
        began = time.perf_counter()
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - began
        report_file = Path(reports) / "fuzz" / "fuzz.json"
        if not report_file.is_file():
            raise SystemExit(f"no fuzz report:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        report = json.loads(report_file.read_text())
    checks = [t for t in report["targets"] if t["operation"] in ("auth", "idempotency")]
    return {
        "wall_s": round(wall, 2),
        "exit": done.returncode,
        "cases": report["cases"],
        "check_targets": len(checks),
        "check_cases": sum(t["cases"] for t in checks),
        "check_seconds": round(sum(t["seconds"] for t in checks), 2),
        "check_findings": sum(len(t["findings"]) for t in checks),
        "machines": report.get("machines", []),
        # Why a run failed (the checks and the machine share the run): the summary lines.
        "failures": [
            line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))
        ][:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--max-examples", type=int, default=None)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="fuzz-conf-settings-") as directory:
        plain = without_checks(Path(directory))
        before, after = [], []
        for _ in range(args.runs):
            before.append(one_run(plain, args.max_examples))
            after.append(one_run(None, args.max_examples))
    before_s = statistics.median(r["wall_s"] for r in before)
    after_s = statistics.median(r["wall_s"] for r in after)
    ratio = after_s / before_s
    machine = next(iter(after[-1]["machines"]), {})
    print(
        json.dumps(
            {
                "benchmark": "fuzz_conformance",
                "load_average_at_start": round(load, 2),
                "runs": args.runs,
                "max_examples": args.max_examples,
                "without_checks_wall_s": before_s,
                "with_checks_wall_s": after_s,
                "ratio": round(ratio, 3),
                "added_percent": round(100 * (ratio - 1), 1),
                "target_ratio": TARGET_RATIO,
                "met": ratio < TARGET_RATIO,
                "checks_own_seconds": statistics.median(r["check_seconds"] for r in after),
                "check_cases": after[-1]["check_cases"],
                "check_findings": after[-1]["check_findings"],
                "exit_codes": {
                    "without": [r["exit"] for r in before],
                    "with": [r["exit"] for r in after],
                },
                "machine_coverage": machine.get("coverage"),
                "before": before,
                "after": [{k: v for k, v in r.items() if k != "machines"} for r in after],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
