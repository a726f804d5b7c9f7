"""Scaling of `harness load` from 1 to 2 Locust workers (distributed mode, 127.0.0.1).

Same target and load as benchmarks/load_throughput.py (inventory GET /healthz, no think
time); each worker count runs --rounds times, alternating. On a 2-core machine that also
hosts the target, the target and the CPUs bound the gain: the figure shows the mode works
and what it costs, not the scaling of a dedicated load cluster. Prints one JSON object.

    python benchmarks/load_workers.py [--users 20] [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from load_throughput import ROOT, harness_run

from harness.fleet.launch import launch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rps: dict[int, list[float]] = {0: [], 1: [], 2: []}
    with (
        tempfile.TemporaryDirectory(prefix="load-bench-") as tmp,
        launch(ROOT / "sample_services" / "fleet.yaml", proxied=False) as fleet,
    ):
        url = fleet.url("inventory")
        for _ in range(args.rounds):
            for workers, runs in rps.items():
                run = harness_run(url, Path(tmp), args.users, args.seconds, workers=workers)
                runs.append(run["rps"])
    medians = {w: statistics.median(v) for w, v in rps.items()}
    print(
        json.dumps(
            {
                "benchmark": "load_workers",
                "target": "inventory GET /healthz on 127.0.0.1",
                "users": args.users,
                "seconds": args.seconds,
                "cores": os.cpu_count(),
                "rps": {
                    ("local" if w == 0 else f"{w}_workers"): [round(x, 1) for x in v]
                    for w, v in rps.items()
                },
                "speedup_2_vs_1_workers": round(medians[2] / medians[1], 3),
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
