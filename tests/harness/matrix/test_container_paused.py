"""The `container_paused` fault class: the callee's container frozen (`docker pause`).

On a purpose-built fleet run as containers (`shop.py` in the offline base image), a caller
with no timeout is broken by its callee paused, the rollback unpauses it and proves it (the
engine says running, the callee ready, nothing left to restore), and the broken cell's
game-day is the container fault. On a fleet of processes the class has no cell to run: its
cells are reported skipped with the reason, beside the cells that do run; a selection of
nothing else has no work, which fails the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.chaos.scenario import load_scenario
from harness.matrix.outcome import MatrixResult, Status
from harness.matrix.session import prepare, run_matrix
from tests.harness.matrix.conftest import SHOP, shop_fleet, shop_project

pytestmark = pytest.mark.slow

# The offline base image .ci/install-docker builds: Debian's python3, enough for shop.py.
IMAGE = "harness-local/bookworm-base:latest"

WORKLOAD = """\
version: 1
checks:
  - name: call answers within 2 s
    http: {service: a, path: /call, timeout: 4s}
    expect_status: [200, 503]
    max_latency_ms: 2000
"""


def containerised(manifest: dict[str, Any]) -> dict[str, Any]:
    """shop.py run by the image's python3, its source in the environment (no mount needed)."""
    for service in manifest["services"].values():
        service["command"] = ["python3", "-c", "import os; exec(os.environ['SHOP_SOURCE'])"]
        service["env"]["SHOP_SOURCE"] = SHOP.read_text()
        service["image"] = IMAGE
        service["ready_timeout"] = 60
    return manifest


def run(
    tmp_path: Path, manifest: dict[str, Any], faults: list[str], **overrides: str
) -> MatrixResult:
    project = shop_project(tmp_path, manifest, **overrides)
    (tmp_path / "workload.yaml").write_text(WORKLOAD)
    plan = prepare(
        project,
        workload=tmp_path / "workload.yaml",
        expectations=None,
        edges=["a->b"],
        faults=faults,
    )
    return run_matrix(plan, project=project, report_dir=tmp_path / "reports", step_summary=False)


@pytest.mark.docker
def test_a_paused_callee_breaks_a_caller_without_a_timeout_and_is_unpaused(
    tmp_path: Path,
) -> None:
    from harness.infra.docker_engine import docker_client

    result = run(
        tmp_path,
        containerised(shop_fleet(CALL_TIMEOUT="")),
        ["container_paused"],
        fleet_backend="docker",
    )

    [paused] = result.cells
    assert paused.status is Status.BROKEN, paused.reason
    assert [f.id for f in paused.findings] == ["call answers within 2 s"]
    assert paused.fault.startswith("docker pause ")
    assert paused.recovered_after_s is not None  # the caller answered again once unpaused
    # Rolled back and proven: nothing paused, every service ready, every proxy clean.
    assert result.not_restored == []
    assert result.error is None, result.error
    # The containers are gone with the fleet; none of this run's is left paused meanwhile.
    run_label = {"label": "org.harness.fleet=shop", "status": "paused"}
    assert docker_client().containers.list(all=True, filters=run_label) == []
    # The reproduction is the container fault, accepted by the chaos loader.
    assert paused.scenario is not None
    fault = load_scenario(paused.scenario).method[0].fault
    assert (fault.container, fault.action) == ("b", "pause")


def test_on_a_fleet_of_processes_its_cells_are_skipped_with_the_reason(tmp_path: Path) -> None:
    result = run(tmp_path, shop_fleet(CALL_TIMEOUT="0.5"), ["latency_below", "container_paused"])

    paused = result.status_of("a->b", "container_paused")
    assert paused is not None
    assert paused.status is Status.SKIPPED
    assert "fleet runs its services as processes" in paused.reason
    assert not paused.error
    assert not paused.changed
    below = result.status_of("a->b", "latency_below")
    assert below is not None
    assert below.status is Status.HELD, below.reason
    assert result.ok, result.reason  # a skipped cell is no failure
    junit = (tmp_path / "reports" / "junit.xml").read_text()
    assert "a-&gt;b x container_paused" in junit or "a->b x container_paused" in junit
    assert "fleet runs its services as processes" in junit  # the skip says why


def test_a_selection_of_only_inapplicable_cells_is_no_work_and_fails(tmp_path: Path) -> None:
    result = run(tmp_path, shop_fleet(CALL_TIMEOUT="0.5"), ["container_paused"])

    assert not result.ok
    assert result.error is not None
    assert "no cell left to run" in result.error
    [paused] = result.cells
    assert paused.status is Status.SKIPPED
    assert "processes" in paused.reason


class _StuckContainer:
    """A container whose unpause does not take (the engine still says paused)."""

    name = "b"
    paused = True
    running = True

    def resume(self) -> None:
        """docker unpause, that changed nothing."""


def test_a_revert_that_leaves_the_callee_paused_is_an_error_not_a_clean_edge() -> None:
    from harness.errors import FleetError
    from harness.faults.process import Pause
    from harness.matrix.faultclasses import PausedCallee

    fault = PausedCallee.__new__(PausedCallee)  # without a fleet: its revert's check alone
    fault.active = True
    fault.service = "b"
    fault.container = _StuckContainer()  # type: ignore[assignment]
    fault.pause = Pause.__new__(Pause)
    fault.pause.process = fault.container  # type: ignore[assignment]
    fault.pause.active = True
    with pytest.raises(FleetError, match="still paused after docker unpause"):
        fault.revert()
