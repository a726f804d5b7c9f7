"""What the harness pytest plugin costs a pytest run that asks for no suite (target: < 0.15 s).

Times ``pytest --co -q`` over one trivial test, in a fresh interpreter each run (the fastest
of interleaved runs), with other plugins' autoloading off so only ours differs: bare pytest
vs ``-p harness.pytest_plugin``.
Also lists which heavy modules the plugin's run imported (none is the point). Prints one JSON
object. Usage:

    python benchmarks/plugin_import.py [--runs 7]
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

TARGET_S = 0.15
HEAVY = ("pact", "schemathesis", "hypothesis", "matplotlib", "networkx", "locust", "pydantic")
PROBE = """
import sys, pytest
code = pytest.main(sys.argv[1:])
heavy = {m.split(".")[0] for m in sys.modules} & set(%r)
print("HEAVY=" + ",".join(sorted(heavy)))
raise SystemExit(code)
"""


def run(directory: Path, extra: list[str]) -> tuple[float, list[str]]:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    argv = [sys.executable, "-c", PROBE % (HEAVY,), "--co", "-q", "-p", "no:cacheprovider"]
    began = time.perf_counter()
    done = subprocess.run(
        [*argv, *extra, str(directory)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - began
    line = next(x for x in done.stdout.splitlines() if x.startswith("HEAVY="))
    return seconds, [m for m in line.removeprefix("HEAVY=").split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plugin-import-") as tmp:
        directory = Path(tmp)
        (directory / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
        bare, plugin, heavy = [], [], set()
        run(directory, [])  # warm the file system cache for both
        for _ in range(args.runs):
            bare.append(run(directory, [])[0])
            seconds, imported = run(directory, ["-p", "harness.pytest_plugin"])
            plugin.append(seconds)
            heavy.update(imported)
    # The fastest run of each is the least disturbed by a busy machine.
    cost = min(plugin) - min(bare)
    print(
        json.dumps(
            {
                "benchmark": "plugin_import",
                "runs": args.runs,
                "bare_pytest_s": round(min(bare), 3),
                "with_plugin_s": round(min(plugin), 3),
                "median_bare_s": round(statistics.median(bare), 3),
                "median_plugin_s": round(statistics.median(plugin), 3),
                "plugin_cost_s": round(cost, 3),
                "target_s": TARGET_S,
                "heavy_modules_imported": sorted(heavy),
                "passed": cost < TARGET_S and not heavy,
            }
        )
    )


if __name__ == "__main__":
    main()
