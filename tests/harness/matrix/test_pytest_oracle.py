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

from tests.harness.matrix.conftest import PROFILE, TOXIPROXY_BIN, shop_fleet, write_fleet

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


def run_pytest(
    tmp_path: Path, *extra: str, faults: str = "reset_peer", **caller_env: str
) -> tuple[subprocess.CompletedProcess[str], dict]:
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
            faults,
            *extra,
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


LOAD_BUDGET = """\
version: 1
defaults: {timeout: 2s, recovery: 20s}
load: {duration: 3s, users: 2, p99: 1500ms, allowed_5xx: [503], retry_after: true}
"""


def test_a_load_profile_runs_beside_the_selection_and_judges_too(tmp_path: Path) -> None:
    (tmp_path / "profile.yaml").write_text(PROFILE)
    (tmp_path / "expectations.yaml").write_text(LOAD_BUDGET)
    done, report = run_pytest(
        tmp_path,
        "--fault-matrix-load",
        "profile.yaml",
        "--fault-matrix-expectations",
        "expectations.yaml",
        faults="down",
        SWALLOW_ERRORS="0",
        CALL_TIMEOUT="0.5",
    )

    assert "load profile shop-calls" in report["workload"]
    clean = {c["id"]: c["passed"] for c in report["clean"]}
    assert clean["load: requests measured"] is True
    assert clean["test_pay.py::test_a_payment_is_charged_at_the_callee_or_refused"] is True
    # With b down, a answers /call 503 without Retry-After: outside the load's budget,
    # though every functional test still passes (the payment is honestly refused).
    down = cell(report, "a->b", "down")
    assert down["status"] == "broken"
    ids = [f["id"] for f in down["findings"]]
    assert "load: no 5xx but 503 with Retry-After" in ids
    assert not [i for i in ids if i.startswith("test_pay.py")]
    assert done.returncode == 1, done.stdout
