"""A fault matrix stopped by SIGTERM mid-cell (the CLI, as a CI runner would stop it):
exit 143 after the rollback, the reports say so, and nothing it started is left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.harness.matrix.conftest import TOXIPROXY_BIN, shop_fleet, write_fleet

pytestmark = pytest.mark.slow

WORKLOAD = """\
version: 1
checks:
  - name: call
    http: {service: a, path: /call, timeout: 10s}
    expect_status: [200, 503]
"""


def test_sigterm_mid_cell_rolls_back_and_leaves_nothing_running(tmp_path: Path) -> None:
    manifest = write_fleet(tmp_path, shop_fleet(CALL_TIMEOUT=""))
    (tmp_path / "workload.yaml").write_text(WORKLOAD)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("harness")),
            "faults",
            "matrix",
            "--manifest",
            str(manifest),
            "--workload",
            str(tmp_path / "workload.yaml"),
            "--edges",
            "a->b",
            # The second cell holds each request until the probe's 10 s (a caller without
            # a timeout, behind a blackhole): the signal lands while its fault is on.
            "--faults",
            "latency_below,blackhole",
            "--report-dir",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env={**os.environ, "HARNESS_TOXIPROXY_BIN": str(TOXIPROXY_BIN)},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    children: list[psutil.Process] = []
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "a->b x latency_below" in line:
            children = psutil.Process(process.pid).children(recursive=True)
            process.send_signal(signal.SIGTERM)
            break
    rest = process.stderr.read()
    assert process.wait(timeout=120) == 143, "".join(seen) + rest
    assert children, "the first cell never finished: " + "".join(seen)
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive
    report = json.loads((tmp_path / "out" / "matrix.json").read_text())
    assert report["ok"] is False
    assert "interrupted" in report["error"]
    assert report["not_restored"] == []
    # The first cell's verdict stands; the interrupted one is not reported as a finding.
    assert [(c["fault"], c["status"]) for c in report["cells"]] == [("latency_below", "held")]
