"""Wall time of the contract suite, `pytest --contracts`, for the whole sample fleet.

Median of N runs (target: <= 30 s on 2 cores). Each run is a fresh pytest process: the
consumer tests (pact mock servers, pact files written), the providers started once through
the fleet lifecycle, one verification batch per provider (HTTP and message interactions),
the pact-vs-OpenAPI drift checks and the breaking-change checks against the baselines.
The count of interactions verified comes from the JUnit XML (items carrying a `provider`
property). Prints one JSON object. Usage:

    python benchmarks/contracts_bench.py [--runs 3] [--pytest-args "tests/contracts"]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 30.0


def _counts(junit: Path) -> dict[str, int]:
    suite = ET.parse(junit).getroot()
    cases = list(suite.iter("testcase"))
    interactions = [
        case for case in cases if any(p.get("name") == "provider" for p in case.iter("property"))
    ]
    failed = [
        case for case in cases if case.find("failure") is not None or case.find("error") is not None
    ]
    return {
        "items": len(cases),
        "failed": len(failed),
        "interactions_verified": sum(1 for c in interactions if c.find("skipped") is None),
        "interactions_failed": sum(1 for c in interactions if c in failed),
        "pacts": len({c.get("classname") for c in interactions}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pytest-args", default="tests/contracts")
    args = parser.parse_args()

    walls: list[float] = []
    counts: dict[str, int] = {}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="contracts-bench-") as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--contracts",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            *shlex.split(args.pytest_args),
        ]
        env = {**os.environ, "PACT_DO_NOT_TRACK": "true"}
        for _ in range(args.runs):
            began = time.perf_counter()
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
            )
            walls.append(time.perf_counter() - began)
            counts = _counts(junit)
            if done.returncode != 0:
                sys.stderr.write(done.stdout[-4000:])
    median = statistics.median(walls)
    print(
        json.dumps(
            {
                "benchmark": "contracts",
                "command": "pytest --contracts " + args.pytest_args,
                "runs": args.runs,
                "wall_s": [round(w, 2) for w in walls],
                "wall_median_s": round(median, 2),
                "target_s": TARGET_S,
                "target_met": median <= TARGET_S,
                **counts,
                "cores": os.cpu_count(),
                "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
