"""pytest's side of chaos game-days: ``--chaos`` collects scenario files, one item per check.

``pytest --chaos`` adds the scenario directory (the configuration's ``chaos.scenarios``: ini
``harness_chaos_scenarios`` or ``[tool.harness.chaos] scenarios``, default
``scenarios/chaos``) to what is collected; each scenario becomes a collector whose items
are its steady-state checks per phase (``payments-slow.yaml::during: orders ready``) and
the rollback proof. The game-day runs once, when its first item runs, on the session's
``fleet`` (the rollbacks prove it is left as it was found), and every item reports its own
check. A bad scenario is a collection error showing ``file:line: field: why``. A scenario
with container faults needs the services as containers: on a fleet of processes its items
are skipped, saying so (``--harness-fleet-backend docker`` runs them). Without ``--chaos``
the plugin does not register this module at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.chaos.outcome import GameDayResult
from harness.chaos.scenario import ALL_PHASES, Scenario, load_scenario
from harness.config import HarnessConfig
from harness.errors import HarnessError, SpecError
from harness.matrix.expectations import EXPECTATIONS_FILE, WORKLOAD_SUFFIX
from harness.pytest import harness_config as resolve_config

_SUFFIXES = (".yaml", ".yml")
ROLLBACK_ITEM = "rollback: fleet restored"
BURST_CHECK = "never a 5xx, throttled with Retry-After"

RunGameDay = Callable[[Path], GameDayResult]
_runs_key = pytest.StashKey[dict[Path, GameDayResult | BaseException]]()


def _scenario_dir(config: pytest.Config) -> Path:
    """The configuration's ``chaos.scenarios`` (ini ``harness_chaos_scenarios`` is a source)."""
    return resolve_config(config).chaos.scenarios.resolve()


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("chaos", default=False))


def pytest_configure(config: pytest.Config) -> None:
    if not _enabled(config):
        return
    try:
        directory = _scenario_dir(config)
    except HarnessError as exc:
        raise pytest.UsageError(f"--chaos: {exc}") from None
    given = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    if directory.is_dir() and not any(p == directory or directory in p.parents for p in given):
        config.args.append(str(directory))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if not _enabled(config) or file_path.suffix not in _SUFFIXES:
        return None
    if _scenario_dir(config) not in file_path.resolve().parents:
        return None
    if file_path.name == EXPECTATIONS_FILE or file_path.name.endswith(WORKLOAD_SUFFIX):
        return None  # the fault matrix's files live beside the game-days
    collector: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
    return collector


def check_ids(spec: Scenario) -> list[tuple[str, str]]:
    """(phase, check label) of every steady-state check the scenario makes."""
    plan = spec.steady_state.check
    phases = [p for p in ALL_PHASES if getattr(plan, p) is not None]
    found: list[tuple[str, str]] = []
    for phase in phases:
        for probe in spec.steady_state.probes:
            if phase in probe.when:
                found.append((phase, probe.label))
        for slo in spec.steady_state.slo:
            if phase in slo.when:
                found.append((phase, slo.label))
        if phase == "during":
            for action in spec.method:
                if action.fault.burst is not None:
                    found.append((phase, f"{action.label}: {BURST_CHECK}"))
    return found


class ScenarioFile(pytest.File):
    """A chaos scenario: one item per steady-state check per phase, and the rollback proof."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            spec = load_scenario(self.path)
        except SpecError as exc:
            raise self.CollectError(f"invalid chaos scenario:\n{exc}") from None
        skip = None
        if spec.needs_containers and resolve_config(self.config).fleet_backend != "docker":
            skip = pytest.mark.skip(
                reason=f"{self.path.name} has container faults: the services must run as "
                "containers (--harness-fleet-backend docker)"
            )
        for item in self._items(spec):
            if skip is not None:
                item.add_marker(skip)
            yield item

    def _items(self, spec: Scenario) -> Iterator[pytest.Item]:
        for phase, label in check_ids(spec):
            item = pytest.Function.from_parent(
                self, name=f"{phase}: {label}", callobj=_check(self.path, phase, label)
            )
            item.add_marker(pytest.mark.slow)
            yield item
        proof = pytest.Function.from_parent(self, name=ROLLBACK_ITEM, callobj=_proof(self.path))
        proof.add_marker(pytest.mark.slow)
        yield proof


def _check(path: Path, phase: str, label: str) -> Callable[..., None]:
    def check(_harness_gameday: RunGameDay) -> None:
        result = _harness_gameday(path)
        found = [c for c in result.checks if c.phase == phase and c.check == label]
        where = f"report: {result.artifacts.get('markdown', '')}"
        if not found:
            pytest.fail(
                f"{result.scenario}: not checked ({result.verdict.value}: {result.reason})\n"
                f"{where}",
                pytrace=False,
            )
        failed = [c for c in found if not c.ok]
        if failed:
            text = "\n".join(str(c) for c in failed)
            pytest.fail(f"{result.scenario}: {len(failed)}/{len(found)} failed\n{text}\n{where}")

    return check


def _proof(path: Path) -> Callable[..., None]:
    def check(_harness_gameday: RunGameDay) -> None:
        result = _harness_gameday(path)
        if not result.rollback.restored:
            pytest.fail("not restored: " + "; ".join(result.rollback.not_restored))

    return check


@pytest.fixture(scope="session")
def _harness_gameday(request: pytest.FixtureRequest, harness_config: HarnessConfig) -> RunGameDay:
    """Runs a collected scenario once per session; later items reuse its result (or error)."""
    from harness.chaos.session import run_gameday

    runs = request.config.stash.setdefault(_runs_key, {})

    def run(path: Path) -> GameDayResult:
        if path not in runs:
            try:
                runs[path] = run_gameday(
                    path,
                    fleet=request.getfixturevalue("fleet"),
                    config=harness_config,
                    step_summary=False,
                )
            except HarnessError as exc:
                runs[path] = exc
        outcome = runs[path]
        if isinstance(outcome, BaseException):
            pytest.fail(f"chaos scenario {path.name} could not run:\n{outcome}", pytrace=False)
        return outcome

    return run
