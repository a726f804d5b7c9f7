"""A load profile as the matrix's workload, judged by an error budget at the public entry.

On a purpose-built fleet (`shop.py`): the profile reads a's /call (a calls b, 0.5 s timeout)
in every cell. With b down, a answers 503 without Retry-After: outside the budget (a 503
is allowed only with Retry-After), so the cell is found broken; latency within the timeout
holds. Run together with a probe workload, both oracles judge every cell. A cell in which
the load measured no request fails its checks (zero work is no pass). The budget's settings
are validated like the rest of the expectations file."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.load import load_profile
from harness.matrix.errors import ExpectationsError
from harness.matrix.expectations import LoadBudget, load_expectations
from harness.matrix.loadworkload import REQUESTS_CHECK, LoadWorkload, budget_breaches
from harness.matrix.outcome import Status
from harness.matrix.session import prepare, run_matrix
from harness.project import Project
from tests.harness.matrix.conftest import (
    PROFILE,
    shop_fleet,
    shop_project,
    write_fleet,
)

PROBES = """\
version: 1
checks:
  - name: call answers within 2 s
    http: {service: a, path: /call, timeout: 10s}
    expect_status: [200, 503]
    max_latency_ms: 2000
"""

EXPECTATIONS = """\
version: 1
defaults: {timeout: 2s, recovery: 20s}
load:
  duration: 3s
  users: 2
  p99: 1500ms
  allowed_5xx: [503]
  retry_after: true
"""


def project_for(tmp_path: Path) -> Project:
    return shop_project(tmp_path, shop_fleet(CALL_TIMEOUT="0.5"))


@pytest.mark.slow
def test_a_cell_that_breaks_the_budget_is_found_and_a_harmless_one_holds(tmp_path: Path) -> None:
    (tmp_path / "profile.yaml").write_text(PROFILE)
    (tmp_path / "probes.yaml").write_text(PROBES)
    (tmp_path / "expectations.yaml").write_text(EXPECTATIONS)
    project = project_for(tmp_path)
    plan = prepare(
        project,
        expectations=tmp_path / "expectations.yaml",
        workload=[tmp_path / "probes.yaml", tmp_path / "profile.yaml"],
        edges=["a->b"],
        faults=["latency_below", "down"],
    )
    assert plan.load is not None
    assert plan.workload is not None

    result = run_matrix(plan, project=project, report_dir=tmp_path / "reports", step_summary=False)

    clean = {c.id: c.passed for c in result.clean_checks}
    assert clean == {
        "call answers within 2 s": True,
        REQUESTS_CHECK: True,
        "load: no 5xx but 503 with Retry-After": True,
        "load: p99 < 1500 ms": True,
    }
    down = result.status_of("a->b", "down")
    assert down is not None
    assert down.status is Status.BROKEN, down.reason
    found = {f.id: f.message for f in down.findings}
    # The probe accepts a quick 503; only the load's budget sees it lacks Retry-After.
    assert list(found) == ["load: no 5xx but 503 with Retry-After"]
    assert "503" in found["load: no 5xx but 503 with Retry-After"]
    assert "without Retry-After" in found["load: no 5xx but 503 with Retry-After"]
    below = result.status_of("a->b", "latency_below")
    assert below is not None
    assert below.status is Status.HELD, below.reason
    assert not result.ok  # the undeclared down cell must hold: the gate fails
    assert "load profile shop-calls" in result.workload
    assert (tmp_path / "reports" / "load").is_dir()  # each run's load report, as evidence
    assert not result.not_restored


class _Stats:
    def __init__(self, requests: int, p99: float = 0.0) -> None:
        self.requests = requests
        self._p99 = p99

    def percentile_ms(self, fraction: float) -> float:
        return self._p99


def _fake(requests: int, errors: list[Any], no_work: str | None = None) -> Any:
    return SimpleNamespace(
        stats=SimpleNamespace(total=_Stats(requests, 20.0)), errors=errors, no_work=no_work
    )


def _error(text: str, n: int) -> Any:
    return SimpleNamespace(method="GET", name="call", error=text, occurrences=n)


def test_zero_requests_in_a_cell_fails_every_load_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.matrix.loadworkload as module

    fleet: Any = SimpleNamespace(services={"a": SimpleNamespace(url="http://127.0.0.1:9")})
    (tmp_path / "profile.yaml").write_text(PROFILE)
    workload = LoadWorkload(load_profile(tmp_path / "profile.yaml"), LoadBudget(), fleet, tmp_path)
    answers = iter([_fake(40, []), _fake(0, [], no_work="no request was measured: x")])
    monkeypatch.setattr(module, "run_profile", lambda *a, **k: next(answers))
    clean = workload.run("clean")
    assert all(c.passed for c in clean.checks.values()), clean.checks
    cell = workload.run("a->b x down")
    assert [c.id for c in cell.failed_of(clean.passed)] == [
        REQUESTS_CHECK,
        "load: no 5xx but 503 with Retry-After",
        "load: p99 < 2000 ms",
    ]
    assert "no request was measured" in cell.checks[REQUESTS_CHECK].message
    workload.close()


def test_the_budget_counts_5xx_silence_and_503_without_retry_after() -> None:
    errors = [
        _error("HTTP 503 dependency_unavailable", 5),  # allowed: it had Retry-After
        _error("HTTP 503 without Retry-After", 2),
        _error("HTTP 500", 1),
        _error("no response: ConnectionRefusedError: refused", 3),
        _error("HTTP 404 not_found", 7),  # not a server error: outside the 5xx budget
    ]
    result: Any = _fake(100, errors)
    count, kinds = budget_breaches(result, LoadBudget())
    assert count == 6
    assert len(kinds) == 3
    assert budget_breaches(result, LoadBudget(retry_after=False))[0] == 4
    assert budget_breaches(result, LoadBudget(allowed_5xx=[]))[0] == 11


def test_the_budget_settings_are_validated_with_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "expectations.yaml"
    path.write_text("version: 1\nload:\n  duration: 3s\n  p99: -1s\n")
    with pytest.raises(ExpectationsError) as caught:
        load_expectations(path)
    [issue] = caught.value.issues
    assert (issue.line, issue.field) == (4, "load.p99")

    (tmp_path / "profile.yaml").write_text(PROFILE)
    path.write_text("version: 1\nload:\n  invariants: [nothing_lost]\n")
    project = project_for(tmp_path)
    with pytest.raises(ExpectationsError) as caught:
        prepare(project, expectations=path, workload=tmp_path / "profile.yaml")
    [issue] = caught.value.issues
    assert (issue.line, issue.field) == (3, "load.invariants[0]")
    assert "no invariant 'nothing_lost'" in issue.message


def test_the_cli_takes_a_load_profile_and_refuses_a_bad_one_with_exit_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harness.cli.app import app

    manifest = write_fleet(tmp_path, shop_fleet())
    expectations = tmp_path / "expectations.yaml"
    expectations.write_text("version: 1\n")
    (tmp_path / "profile.yaml").write_text(PROFILE.replace("target: a", "target: nowhere"))
    args = ["faults", "matrix", "--manifest", str(manifest), "--expectations", str(expectations)]
    result = CliRunner().invoke(app, [*args, "--workload", str(tmp_path / "profile.yaml")])
    assert result.exit_code == 2, result.output
    assert "'nowhere' is not a service" in result.output
