"""What the game-day runner costs the load under it: the same load with and without it.

One sample fleet; the same load (checkout-short, as a game-day stretches it) run twice per
round, interleaved: alone through ``run_profile``, then under ``run_gameday`` with probes
every 2 s and a harmless fault (0 ms of latency on an edge) for 20 s. Throughput is taken
over the run alone and over the game-day's fault window, from the same per-second series.
Prints one JSON object with each round's figures and the median ratio (runner / alone); a
ratio near 1 means the runner's probes, live series and abort rules cost the load nothing
it can measure. Usage:

    python benchmarks/chaos_overhead.py [--rounds 2] [--users 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.chaos.scenario import load_scenario  # noqa: E402
from harness.chaos.session import load_for, run_gameday  # noqa: E402
from harness.config import load_config  # noqa: E402
from harness.fleet.launch import launch_from_config  # noqa: E402
from harness.load.session import run_profile  # noqa: E402

SCENARIO = """\
version: 1
name: runner-overhead
description: the runner's own cost, with a fault that changes nothing
load: {{profile: {profile}, users: {users}, warmup: 2s}}
steady_state:
  probes:
    - {{name: orders ready, http: {{service: orders, path: /readyz}}, expect_status: 200}}
  check: {{before: {{window: 3s}}, during: {{every: 2s}}, after: {{within: 10s, window: 3s}}}}
method:
  - {{at: 0s, duration: 20s,
     fault: {{edge: orders->payments, toxic: latency, attributes: {{latency: 0}}}}}}
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    config = load_config(start=ROOT)
    rounds = []
    with tempfile.TemporaryDirectory() as scratch, launch_from_config(config) as fleet:
        out = Path(scratch)
        path = out / "runner-overhead.yaml"
        profile_path = ROOT / "scenarios" / "load" / "checkout-short.yaml"
        path.write_text(SCENARIO.format(profile=profile_path, users=args.users))
        spec = load_scenario(path)
        for index in range(args.rounds):
            alone = run_profile(
                load_for(spec),  # the very load the game-day runs, thresholds dropped
                fleet=fleet,
                report_dir=out / f"alone-{index}",
                step_summary=False,
            )
            day = run_gameday(
                spec,
                fleet=fleet,
                config=config,
                report_dir=out / f"gameday-{index}",
                step_summary=False,
            )
            phases = (day.load or {}).get("phases", {})
            window = next((v for k, v in phases.items() if k.startswith("during")), {})
            alone_rps = alone.stats.total.requests / alone.stats.duration_s
            rounds.append(
                {
                    "alone_rps": round(alone_rps, 2),
                    "gameday_window_rps": round(window["rps"], 2) if window.get("rps") else None,
                    "gameday_verdict": day.verdict.value,
                    "ratio": round(window["rps"] / alone_rps, 3) if window.get("rps") else None,
                }
            )
    ratios = [float(r["ratio"]) for r in rounds if isinstance(r["ratio"], float)]
    print(
        json.dumps(
            {
                "benchmark": "chaos runner overhead on load throughput",
                "users": args.users,
                "rounds": rounds,
                "median_ratio_runner_over_alone": statistics.median(ratios) if ratios else None,
                "load_average": os.getloadavg(),
                "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            },
            indent=2,
        )
    )
    return 0 if ratios else 1


if __name__ == "__main__":
    sys.exit(main())
