"""A rate-limited entry is the client's pace, not the fault: a 429's Retry-After is waited
out (and said in the reports); with it switched off, the same 429 reads as a finding -
what happened to the sample matrix on an idle machine before workloads got their manners.
The shop's /limited refuses every other request by count, so both outcomes are exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.matrix.outcome import MatrixResult, Status
from harness.matrix.session import prepare, run_matrix
from tests.harness.matrix.conftest import shop_fleet, shop_project

pytestmark = pytest.mark.slow

WORKLOAD = """\
version: 1
retry_after: {retry_after}
checks:
  - name: first limited read
    http: {{service: a, path: /limited}}
  - name: second limited read
    http: {{service: a, path: /limited}}
  - name: call
    http: {{service: a, path: /call}}
"""

EXPECTATIONS = """\
version: 1
workload: workload.yaml
defaults: {timeout: 2s, recovery: 10s}
"""


def run(tmp_path: Path, retry_after: str) -> MatrixResult:
    project = shop_project(tmp_path, shop_fleet(CALL_TIMEOUT="1"))
    (tmp_path / "workload.yaml").write_text(WORKLOAD.format(retry_after=retry_after))
    (tmp_path / "expectations.yaml").write_text(EXPECTATIONS)
    plan = prepare(
        project,
        expectations=tmp_path / "expectations.yaml",
        edges=["a->b"],
        faults=["latency_below"],
    )
    return run_matrix(plan, project=project, report_dir=tmp_path / "reports", step_summary=False)


def test_a_429_retry_after_is_waited_out_and_reported(tmp_path: Path) -> None:
    result = run(tmp_path, "5s")

    assert result.ok, result.reason
    assert [c.id for c in result.clean_checks if not c.passed] == []
    cell = result.status_of("a->b", "latency_below")
    assert cell is not None
    assert cell.status is Status.HELD, cell.reason
    # Each limited read met one refusal and passed on its retry.
    assert cell.throttled == 2
    report = json.loads((tmp_path / "reports" / "matrix.json").read_text())
    assert [c["throttled"] for c in report["cells"] if c["status"] == "held"] == [2]
    markdown = (tmp_path / "reports" / "report.md").read_text()
    assert "Rate limit: 2 answer(s) 429 waited out" in markdown


def test_without_manners_the_rate_limit_reads_as_a_finding(tmp_path: Path) -> None:
    result = run(tmp_path, "0s")

    # Clean: the first read is refused (not judged later), the second admitted.
    failed_clean = [c.id for c in result.clean_checks if not c.passed]
    assert failed_clean == ["first limited read"]
    cell = result.status_of("a->b", "latency_below")
    assert cell is not None
    # A harmless fault, yet broken: the second read's turn is now a refusal.
    assert cell.status is Status.BROKEN
    assert [f.id for f in cell.findings] == ["second limited read"]
    assert "429" in cell.findings[0].message
    assert cell.throttled == 0
    assert not result.ok
