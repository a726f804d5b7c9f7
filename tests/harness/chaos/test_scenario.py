"""Scenario files: validation with file:line: field (exit 2, nothing started), the schema,
--dry-run, and the verdict rules. No fleet is started here."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.chaos import schema
from harness.chaos.checks import CheckResult
from harness.chaos.errors import ScenarioError
from harness.chaos.outcome import Verdict, decide
from harness.chaos.rollback import RollbackReport
from harness.chaos.scenario import load_scenario
from harness.chaos.session import validate
from harness.cli import app
from harness.cli.exits import gameday_exit_code
from harness.config import load_config
from harness.invariants import InvariantRegistry
from harness.matrix.expectations import EXPECTATIONS_FILE, WORKLOAD_SUFFIX

from .conftest import LATENCY_SCENARIO, MakeConfig, WriteScenario, mini_fleet

ROOT = Path(__file__).resolve().parents[3]
# The fault matrix's expectations and probe workloads live beside the game-days.
SHIPPED = sorted(
    p
    for p in (ROOT / "scenarios" / "chaos").glob("*.yaml")
    if p.name != EXPECTATIONS_FILE and not p.name.endswith(WORKLOAD_SUFFIX)
)
runner = CliRunner()


def test_the_schema_file_is_current() -> None:
    assert schema.main(["--check", str(ROOT / schema.DEFAULT_PATH)]) == 0


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_validates_against_the_sample_fleet(path: Path) -> None:
    # A scenario with container faults is checked against the fleet as containers.
    containers = load_scenario(path).needs_containers or None
    spec = validate(path, config=load_config(start=ROOT, environ={}), containers=containers)
    assert spec.method
    assert spec.steady_state.probes or spec.steady_state.slo


def test_at_least_six_flagship_gamedays_ship() -> None:
    assert len(SHIPPED) >= 6


def test_a_container_scenario_is_refused_on_a_fleet_of_processes() -> None:
    path = ROOT / "scenarios" / "chaos" / "containers-partitioned.yaml"
    assert load_scenario(path).needs_containers
    with pytest.raises(ScenarioError) as caught:
        validate(path, config=load_config(start=ROOT, environ={}))
    assert "container faults need the services as containers" in str(caught.value)
    spec = validate(
        path, config=load_config(start=ROOT, environ={"HARNESS_FLEET_BACKEND": "docker"})
    )
    assert [a.fault.label for a in spec.method] == [
        "docker pause inventory",
        "docker disconnect payments",
        "docker stop shipping",
    ]


BAD = {
    "unknown toxic": (
        "method:\n  - {at: 0s, fault: {edge: a->b, toxic: latensy}}\n",
        2,
        "method[0].fault",
        "unknown toxic type 'latensy'",
    ),
    "unknown edge": (
        "method:\n  - {at: 0s, fault: {edge: a->c, toxic: latency, attributes: {latency: 1}}}\n",
        2,
        "method[0].fault.edge",
        "no edge 'a->c'",
    ),
    "unknown service": (
        "method:\n  - {at: 0s, fault: {service: z, action: kill}}\n",
        2,
        "method[0].fault.service",
        "no service 'z'",
    ),
    "restart with a duration": (
        "method:\n  - {at: 0s, fault: {service: b, action: restart}, duration: 5s}\n",
        2,
        "method[0].duration",
        "instantaneous",
    ),
    "container fault on a fleet of processes": (
        "method:\n  - {at: 0s, fault: {container: b, action: pause}}\n",
        2,
        "method[0].fault.container",
        "container faults need the services as containers",
    ),
    "unknown container": (
        "method:\n  - {at: 0s, fault: {container: z, action: stop}}\n",
        2,
        "method[0].fault.container",
        "no service 'z'",
    ),
    "disconnect is a container action": (
        "method:\n  - {at: 0s, fault: {service: b, action: disconnect}}\n",
        2,
        "method[0].fault",
        "a process fault needs an action",
    ),
    "a container action on a container only": (
        "method:\n  - {at: 0s, fault: {container: b, action: kill}}\n",
        2,
        "method[0].fault",
        "a container fault needs an action (stop pause disconnect)",
    ),
    "bad duration": (
        "method:\n  - {at: soon, fault: {service: b, action: kill}}\n",
        2,
        "method[0].at",
        "not a duration",
    ),
}
HEAD = """version: 1
name: bad
steady_state:
  probes: [{http: {service: b, path: /health/ready}}]
"""


@pytest.mark.parametrize("case", sorted(BAD), ids=str)
def test_a_bad_scenario_exits_2_with_file_line_field(
    case: str, write_scenario: WriteScenario, mini_config: MakeConfig
) -> None:
    method, line_in_method, field, why = BAD[case]
    path = write_scenario(HEAD + method)
    config = mini_config(mini_fleet(""))
    result = runner.invoke(app, ["gameday", str(path), "--manifest", str(config.manifest)])
    assert result.exit_code == 2, result.output
    line = 4 + line_in_method
    assert f"{path}:{line}: {field}: " in result.output
    assert why in result.output


def test_an_unknown_invariant_is_named_with_its_line(
    write_scenario: WriteScenario, mini_config: MakeConfig
) -> None:
    path = write_scenario(
        "version: 1\nname: x\nsteady_state:\n  probes:\n    - {invariant: no_such}\n"
        "method:\n  - {at: 0s, fault: {service: b, action: restart}}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        validate(path, config=mini_config(mini_fleet("")))
    assert f"{path}:5: steady_state.probes[0].invariant: no invariant 'no_such'" in str(
        caught.value
    )


def test_an_eventual_invariant_checked_before_the_fault_is_refused(
    write_scenario: WriteScenario, mini_config: MakeConfig
) -> None:
    # One that holds only once the fleet is quiet fails by timing under load, not by a
    # defect: it is judged `after` only (a CI run failed on exactly that).
    registry = InvariantRegistry()
    registry.invariant("settled", eventual=True)(lambda ctx: None)
    registry.invariant("conserved")(lambda ctx: None)
    body = (
        "version: 1\nname: x\nsteady_state:\n  probes:\n"
        "    - {invariant: conserved}\n"
        "    - {invariant: settled, when: %s}\n"
        "method:\n  - {at: 0s, fault: {service: b, action: restart}}\n"
    )
    config = mini_config(mini_fleet(""))
    path = write_scenario(body % "[before, after]")
    with pytest.raises(ScenarioError) as caught:
        validate(path, config=config, registry=registry)
    assert f"{path}:6: steady_state.probes[1].when: invariant 'settled' holds only" in str(
        caught.value
    )
    path = write_scenario(body % "[after]")
    assert validate(path, config=config, registry=registry).name == "x"


def test_a_hypothesis_that_checks_nothing_is_refused(write_scenario: WriteScenario) -> None:
    path = write_scenario(
        "version: 1\nname: x\nsteady_state: {}\nmethod:\n"
        "  - {at: 0s, fault: {service: b, action: restart}}\n"
    )
    with pytest.raises(ScenarioError, match="checks nothing"):
        load_scenario(path)


def test_a_load_profile_is_found_beside_the_scenario(write_scenario: WriteScenario) -> None:
    body = (
        "version: 1\nname: x\nload: {profile: %s}\n"
        "steady_state:\n  probes: [{http: {service: b, path: /health/ready}}]\n"
        "method:\n  - {at: 0s, fault: {service: b, action: restart}}\n"
    )
    missing = write_scenario(body % "nope.yaml")
    refused = r":3: load.profile: no such load profile: .*nope\.yaml"
    with pytest.raises(ScenarioError, match=refused):
        load_scenario(missing)
    (missing.parent / "profile.yaml").write_text("version: 1\n")
    found = load_scenario(write_scenario(body % "profile.yaml"))
    assert found.load is not None
    assert found.load.profile == str((missing.parent / "profile.yaml").resolve())


def test_dry_run_prints_the_timeline_and_starts_nothing(
    write_scenario: WriteScenario, mini_config: MakeConfig, tmp_path: Path
) -> None:
    config = mini_config(mini_fleet(""))
    path = write_scenario(LATENCY_SCENARIO)
    result = runner.invoke(
        app, ["gameday", str(path), "--manifest", str(config.manifest), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "t=0s: latency(latency=2500) downstream on a->b until 3s" in result.output
    assert "rollbacks: always" in result.output
    assert not (tmp_path / "reports").exists()


def _check(phase: str, ok: bool, error: bool = False) -> CheckResult:
    return CheckResult("c", "probe", phase, 0.0, ok, error=error)


RESTORED = RollbackReport()


@pytest.mark.parametrize(
    ("checks", "aborted", "error", "restored", "recovered", "verdict"),
    [
        ([_check("before", True), _check("during", True)], None, None, True, True, "passed"),
        ([_check("before", False)], None, None, True, True, "not-steady"),
        ([_check("before", True), _check("during", False)], None, None, True, True, "deviated"),
        ([_check("before", True)], None, None, True, False, "deviated"),
        ([_check("before", True)], "abort: x", None, True, True, "aborted"),
        ([_check("before", True)], None, "boom", True, True, "error"),
        ([_check("before", True)], None, None, False, True, "error"),
        ([], None, None, True, True, "error"),  # nothing checked is never a pass
    ],
)
def test_verdicts(
    checks: list[CheckResult],
    aborted: str | None,
    error: str | None,
    restored: bool,
    recovered: bool,
    verdict: str,
) -> None:
    rollback = RollbackReport(not_restored=[] if restored else ["proxy a__b: toxics: x"])
    found, _ = decide(checks, aborted=aborted, error=error, rollback=rollback, recovered=recovered)
    assert found.value == verdict
    assert (
        gameday_exit_code(found.value)
        == {"passed": 0, "error": 1, "deviated": 20, "aborted": 21, "not-steady": 22}[verdict]
    )


def test_exit_codes_are_distinct() -> None:
    codes = [gameday_exit_code(v.value) for v in Verdict]
    assert len(set(codes)) == len(codes)
    assert 2 not in codes  # bad input


def test_eventual_invariants_are_checked_by_name_only() -> None:
    """A state machine checks every invariant after every step, while sagas run: a rule
    that holds only once the fleet is quiet must stay out of that default."""
    from harness.invariants import InvariantContext, InvariantRegistry

    rules = InvariantRegistry()
    seen: list[str] = []
    rules.invariant("always")(lambda ctx: seen.append("always"))
    rules.invariant("settled", eventual=True)(lambda ctx: seen.append("settled"))
    with InvariantContext({}) as ctx:
        rules.check_all(ctx)
        assert seen == ["always"]
        rules.check_all(ctx, ["settled"])
    assert seen == ["always", "settled"]
    assert rules.names == ["always", "settled"]
    assert rules.always == ["always"]


def test_pytest_chaos_skips_a_container_scenario_on_a_fleet_of_processes() -> None:
    import os
    import subprocess
    import sys

    path = ROOT / "scenarios" / "chaos" / "containers-partitioned.yaml"
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_FLEET_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--chaos", "-p", "no:cacheprovider", "-q", "-rs", path],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    # Every check and the rollback proof, skipped with the reason; no fleet was started.
    from harness.pytest.chaos import check_ids

    items = len(check_ids(load_scenario(path))) + 1
    assert f"{items} skipped in" in done.stdout, done.stdout[-2000:]
    assert "has container faults: the services must run as containers" in done.stdout
