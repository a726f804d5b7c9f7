"""``pytest --fault-matrix``: the fleet's own functional tests are the oracle. A caller that
treats a reset as success (answers 201 without the charge being made) looks healthy to
any status check; the functional test that follows the charge to the callee finds it. The
same caller that reports the failure (503) holds. Run as a real pytest in a subprocess on a
purpose-built fleet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.matrix.conftest import TOXIPROXY_BIN, shop_fleet, write_fleet

pytestmark = pytest.mark.slow

FUNCTIONAL_TEST = """\
import httpx


def test_a_payment_is_charged_at_the_callee_or_refused(fleet):
    count = lambda: httpx.get(fleet.url("b") + "/charges").json()["count"]
    before = count()
    answer = httpx.post(fleet.url("a") + "/pay", json={"amount": 1}, timeout=10)
    assert answer.status_code in (201, 503)
    if answer.status_code == 201:
        assert count() == before + 1, "a said paid, but b recorded no charge"


def test_the_callee_answers(fleet):
    assert httpx.get(fleet.url("b") + "/hello").status_code == 200
"""


def run_pytest(tmp_path: Path, **caller_env: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    write_fleet(tmp_path, shop_fleet(**caller_env))
    (tmp_path / "test_pay.py").write_text(FUNCTIONAL_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "HARNESS_TOXIPROXY_BIN": str(TOXIPROXY_BIN)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--fault-matrix",
            "--harness-manifest",
            "fleet.yaml",
            "--fault-matrix-faults",
            "reset_peer",
            "--fault-matrix-report-dir",
            "reports",
            "test_pay.py",
        ],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = tmp_path / "reports" / "matrix.json"
    assert report.is_file(), done.stdout + done.stderr
    return done, json.loads(report.read_text())


def cell(report: dict, edge: str, fault: str) -> dict:
    return next(c for c in report["cells"] if c["edge"] == edge and c["fault"] == fault)


def test_a_caller_that_swallows_a_reset_is_found_by_the_functional_tests(tmp_path: Path) -> None:
    done, report = run_pytest(tmp_path, SWALLOW_ERRORS="1")

    assert done.returncode == 1, done.stdout
    reset = cell(report, "a->b", "reset_peer")
    assert reset["status"] == "broken"
    [finding] = reset["findings"]
    assert finding["id"] == "test_pay.py::test_a_payment_is_charged_at_the_callee_or_refused"
    assert "b recorded no charge" in finding["message"]
    assert [c["passed"] for c in report["clean"]] == [True, True]
    assert "2 passed" in done.stdout  # the clean run is reported as any pytest run
    # The other test never reaches a->c, nor does this one: pruned, with the evidence.
    assert "a->c" in report["pruned"]
    assert "matrix pruned a->c" in done.stdout
    assert (tmp_path / "reports" / "gamedays" / "a-b-reset_peer.yaml").is_file()


def test_a_caller_that_reports_the_reset_holds(tmp_path: Path) -> None:
    done, report = run_pytest(tmp_path, SWALLOW_ERRORS="0")

    assert done.returncode == 0, done.stdout + done.stderr
    assert cell(report, "a->b", "reset_peer")["status"] == "held"
    assert report["coverage"]["overall"]["ratio"] == 1.0
