"""The matrix finds what it should, on purpose-built fleets (`shop.py`), through its core
entry with a probe workload: a caller without a timeout is broken by the latency cell (and
the same caller with one holds), a working fallback is degraded, not broken, and an edge
nothing uses is pruned with its evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.chaos.scenario import load_scenario
from harness.matrix.outcome import MatrixResult, Status
from harness.matrix.session import prepare, run_matrix
from tests.harness.matrix.conftest import shop_fleet, shop_project

pytestmark = pytest.mark.slow

WORKLOAD = """\
version: 1
checks:
  - name: call answers within 2 s
    http: {service: a, path: /call, timeout: 10s}
    expect_status: [200, 503]
    max_latency_ms: 2000
  - name: recommendations
    http: {service: a, path: /recommend}
    expect_status: 200
"""

EXPECTATIONS = """\
version: 1
workload: workload.yaml
defaults: {timeout: 2s, recovery: 10s}
answers:
  fallback-recommendations:
    http: {service: a, path: /recommend}
    expect_json: {source: fallback}
edges:
  a->b:
    faults:
      latency_above: hold
      down: {expect: degrade, answer: fallback-recommendations}
"""


def run(
    tmp_path: Path,
    expectations: str = EXPECTATIONS,
    faults: tuple[str, ...] = ("latency_above", "down"),
    **caller_env: str,
) -> MatrixResult:
    project = shop_project(tmp_path, shop_fleet(**caller_env))
    (tmp_path / "workload.yaml").write_text(WORKLOAD)
    (tmp_path / "expectations.yaml").write_text(expectations)
    plan = prepare(
        project,
        expectations=tmp_path / "expectations.yaml",
        faults=list(faults),
    )
    return run_matrix(plan, project=project, report_dir=tmp_path / "reports", step_summary=False)


def test_a_caller_without_a_timeout_is_broken_by_the_latency_cell(tmp_path: Path) -> None:
    result = run(tmp_path, CALL_TIMEOUT="")

    latency = result.status_of("a->b", "latency_above")
    assert latency is not None
    assert latency.status is Status.BROKEN
    assert [f.id for f in latency.findings] == ["call answers within 2 s"]
    assert latency.findings[0].request_ids  # a request id to follow in the logs
    assert not result.ok  # the cell was declared `hold`: the gate fails
    # The reproduction is a game-day the chaos loader accepts.
    assert latency.scenario is not None
    scenario = load_scenario(latency.scenario)
    assert scenario.method[0].fault.edge == "a->b"
    assert scenario.method[0].fault.attributes == {"latency": 3000}

    # A working fallback: degraded as declared, not broken.
    down = result.status_of("a->b", "down")
    assert down is not None
    assert (down.status, down.as_expected) == (Status.DEGRADED, True)

    # Nothing in the workload reaches c: its edge has no cells, and the output says why.
    assert "a->c" in result.pruned
    assert "0 bytes" in result.pruned["a->c"]
    skipped = [c for c in result.cells if c.cell.edge == "a->c"]
    assert [c.status for c in skipped] == [Status.SKIPPED, Status.SKIPPED]

    report = json.loads((tmp_path / "reports" / "matrix.json").read_text())
    assert report["coverage"]["overall"] == {"resilient": 1, "run": 2, "ratio": 0.5}
    assert report["ok"] is False
    assert "a->c" in (tmp_path / "reports" / "report.md").read_text()
    junit = (tmp_path / "reports" / "junit.xml").read_text()
    assert junit.count("<testcase") == 4
    assert "<failure" in junit
    assert not result.not_restored


def test_the_same_caller_with_a_timeout_holds(tmp_path: Path) -> None:
    result = run(tmp_path, CALL_TIMEOUT="0.5")

    latency = result.status_of("a->b", "latency_above")
    assert latency is not None
    assert latency.status is Status.HELD, latency.reason
    assert result.ok, result.reason
    overall, per = result.coverage()
    assert (overall.resilient, overall.run) == (2, 2)
    assert per["a"].ratio == 1.0
    # The next run's baseline: the same figures, no change.
    baseline = tmp_path / "reports" / "matrix.json"
    data = yaml.safe_load(baseline.read_text())
    assert data["coverage"]["overall"]["ratio"] == 1.0


def test_an_unused_edge_declared_prune_false_is_run_and_said(tmp_path: Path) -> None:
    expectations = EXPECTATIONS + "  a->c:\n    prune: false\n"
    result = run(tmp_path, expectations, faults=("down",), CALL_TIMEOUT="0.5")

    assert "a->c" not in result.pruned
    assert "0 bytes" in result.kept["a->c"]
    assert "prune: false" in result.kept["a->c"]
    cell = result.status_of("a->c", "down")
    assert cell is not None
    assert cell.status is Status.HELD, cell.reason
    assert result.ok, result.reason
    report = json.loads((tmp_path / "reports" / "matrix.json").read_text())
    assert list(report["kept"]) == ["a->c"]
    assert "Kept unused edges (1)" in (tmp_path / "reports" / "report.md").read_text()
