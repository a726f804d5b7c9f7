"""The matrix's inputs and figures, without a fleet: the expectations file's errors name the
file, line and field; the CLI refuses bad input with exit 2 before anything starts; the
committed expectations and workload of the sample fleet are valid; coverage and its delta."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli.app import app
from harness.config import load_config
from harness.matrix import faultclasses
from harness.matrix.errors import ExpectationsError, SelectionError, WorkloadError
from harness.matrix.expectations import load_expectations
from harness.matrix.outcome import Cell, CellResult, MatrixResult, Status, coverage_delta
from harness.matrix.session import prepare
from harness.project import Project
from tests.harness.matrix.conftest import shop_fleet, shop_project, write_fleet

REPO = Path(__file__).resolve().parents[3]


def test_a_bad_expectation_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "expectations.yaml"
    path.write_text("version: 1\nedges:\n  a->b:\n    faults:\n      down: {expect: degrade}\n")
    with pytest.raises(ExpectationsError) as caught:
        load_expectations(path)
    [issue] = caught.value.issues
    assert (issue.line, issue.field) == (5, "edges.a->b.faults.down")
    assert "needs the answer" in issue.message


def test_names_the_fleet_lacks_are_found_before_anything_starts(tmp_path: Path) -> None:
    project = shop_project(tmp_path, shop_fleet())
    path = tmp_path / "expectations.yaml"
    path.write_text(
        "version: 1\nedges:\n  a->z:\n    faults:\n      down: hold\n  a->b:\n"
        "    faults:\n      frozen: hold\n"
    )
    with pytest.raises(ExpectationsError) as caught:
        prepare(project, expectations=path, need_workload=False)
    found = {(i.line, i.message.split(" (")[0]) for i in caught.value.issues}
    assert found == {(3, "no edge 'a->z'"), (8, "no fault class 'frozen'")}
    with pytest.raises(SelectionError, match="--faults nope"):
        prepare(project, faults=["nope"], need_workload=False)
    assert prepare(project, edges=["a->*"], faults=["lat*"], need_workload=False).faults == [
        "latency_above",
        "latency_below",
    ]


@pytest.mark.parametrize(
    ("line", "field"),
    [("pace: 0", "pace"), ("retry_after: soon", "retry_after"), ("pace: many", "pace")],
)
def test_a_bad_pace_names_file_line_and_field(tmp_path: Path, line: str, field: str) -> None:
    project = shop_project(tmp_path, shop_fleet())
    path = tmp_path / "probes.workload.yaml"
    path.write_text(f"version: 1\n{line}\nchecks:\n  - http: {{service: a, path: /call}}\n")
    with pytest.raises(WorkloadError) as caught:
        prepare(project, workload=path)
    [issue] = caught.value.issues
    assert (issue.line, issue.field) == (2, field)


def test_the_cli_refuses_bad_input_with_exit_2(tmp_path: Path) -> None:
    manifest = write_fleet(tmp_path, shop_fleet())
    expectations = tmp_path / "expectations.yaml"
    expectations.write_text("version: 1\n")
    base = ["faults", "matrix", "--manifest", str(manifest), "--expectations", str(expectations)]
    result = CliRunner().invoke(app, [*base, "--edges", "x->y"])
    assert result.exit_code == 2, result.output
    assert "--edges x->y" in result.output
    # The sample fleet's expectations name edges this fleet lacks: file, line and field.
    sample = REPO / "scenarios" / "chaos" / "expectations.yaml"
    result = CliRunner().invoke(app, [*base[:4], "--expectations", str(sample)])
    assert result.exit_code == 2, result.output
    assert "expectations.yaml:" in result.output
    assert "edges.gateway->inventory: no edge 'gateway->inventory'" in result.output


def test_the_sample_fleets_expectations_and_workload_are_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    project = Project.load(load_config(start=REPO, environ={}))
    plan = prepare(project)
    assert plan.workload is not None
    assert plan.faults == list(faultclasses.fault_classes())
    assert len(plan.edges) == 13


def test_fault_classes_are_a_registry_a_new_class_joins() -> None:
    names = list(faultclasses.fault_classes())
    assert names == [
        "latency_above",
        "latency_below",
        "reset_peer",
        "blackhole",
        "down",
        "container_paused",
    ]
    with pytest.raises(ValueError, match="registered already"):
        faultclasses.register(faultclasses.get("down"))
    above = faultclasses.get("latency_above").scenario("a->b", 2.0)
    assert above["attributes"] == {"latency": 3000}
    assert faultclasses.get("latency_below").scenario("a->b", 2.0)["attributes"] == {"latency": 400}
    # The paused callee is reproduced as the container fault on the callee.
    paused = faultclasses.get("container_paused")
    assert paused.scenario("a->b", 2.0) == {"container": "b", "action": "pause"}
    assert paused.containers
    assert not paused.on_proxy


def test_coverage_counts_held_or_degraded_as_expected_and_its_delta(tmp_path: Path) -> None:
    def result(*cells: CellResult) -> MatrixResult:
        return MatrixResult("f", "w", list(cells), ["down"], ["a->b", "c->d"], {}, "", [], 0.0, 1.0)

    now = result(
        CellResult(Cell("a->b", "down"), Status.DEGRADED, "degrade (x)"),
        CellResult(Cell("c->d", "down"), Status.BROKEN, None),
        CellResult(Cell("c->e", "down"), Status.SKIPPED, None),
    )
    then = result(
        CellResult(Cell("a->b", "down"), Status.DEGRADED, "degrade (x)"),
        CellResult(Cell("c->d", "down"), Status.HELD, None),
    )
    overall, per = now.coverage()
    assert (overall.resilient, overall.run) == (1, 2)
    assert (per["a"].ratio, per["c"].ratio) == (1.0, 0.0)
    assert not now.ok
    delta = coverage_delta(now.to_json(), then.to_json())
    assert delta["overall_points"] == -50.0
    assert delta["services_points"] == {"a": 0.0, "c": -100.0}
    assert delta["changed_cells"] == [
        {"edge": "c->d", "fault": "down", "was": "held", "now": "broken"}
    ]


def test_a_cell_that_could_not_run_fails_the_run_a_pruned_one_does_not() -> None:
    def result(*cells: CellResult) -> MatrixResult:
        return MatrixResult("f", "w", list(cells), ["down"], ["a->b"], {}, "", [], 0.0, 1.0)

    held = CellResult(Cell("a->b", "down"), Status.HELD, None)
    pruned = CellResult(Cell("a->c", "down"), Status.SKIPPED, None, reason="pruned: unused")
    broken_run = CellResult(
        Cell("a->d", "down"), Status.SKIPPED, None, reason="not run: x", error=True
    )
    assert result(held, pruned).ok
    assert not result(held, pruned, broken_run).ok
    assert "could not run" in result(held, broken_run).reason
    # Zero work is no pass: nothing ran.
    assert not result(pruned).ok


def test_a_paused_container_applies_to_an_http_edge_of_a_container_fleet_only() -> None:
    from types import SimpleNamespace
    from typing import Any

    from harness.fleet.graph import Edge, EdgeKind

    paused = faultclasses.get("container_paused")
    http = Edge("a", "b", EdgeKind.HTTP, "B_URL")
    database = Edge("a", "db", EdgeKind.DATABASE, "DATABASE_URL")
    containers: Any = SimpleNamespace(containers=object())
    processes: Any = SimpleNamespace(containers=None)
    assert paused.skip_reason(containers, http) is None
    assert "processes" in (paused.skip_reason(processes, http) or "")
    assert "database edge" in (paused.skip_reason(containers, database) or "")
    # The proxy classes apply to every edge of every fleet.
    assert faultclasses.get("down").skip_reason(processes, database) is None
