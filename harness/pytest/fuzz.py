"""``pytest --fuzz``: one item per service operation, and the fleet for state machines.

Registered by ``harness.pytest_plugin`` only with ``--fuzz`` (without it, the plugin
deselects tests that use the ``fuzzer`` fixture or carry the ``fuzz`` mark, and imports
nothing here). With it:

- the fleet starts once (fuzz.yaml's environment overrides applied) when collection ends,
  its services' OpenAPI documents are read, and one item per target is added:
  ``inventory GET /stock/{sku}`` per operation, ``inventory stateful`` per service; an item
  fails on failures the baseline does not know (each with a curl line and the command
  that replays it), is xfailed on known ones only;
- the ``fuzzer`` fixture runs the project's state machines against that same fleet
  (``fuzzer.run_machine(MyModel)``), with the run's seed;
- the seed is printed in the header; reports go to ``<report_dir>/fuzz/`` at the end.
"""

from __future__ import annotations

import shlex
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.config import HarnessConfig
from harness.errors import HarnessError
from harness.fleet.lifecycle import Fleet
from harness.fleet.signals import sigterm_raises
from harness.fuzz.findings import FuzzRun, TargetResult, describe_result
from harness.fuzz.reports import write_reports
from harness.fuzz.seeds import Seed, seed_from_config
from harness.fuzz.session import FuzzSession, launch_for_fuzzing, prepare
from harness.fuzz.settings import FuzzSettings
from harness.fuzz.state_machine import (
    FleetBinding,
    FleetStateMachine,
    MachineFailed,
    MachineReport,
    run_machine,
)
from harness.fuzz.targets import FuzzTarget
from harness.pytest import deselect, harness_config, harness_project

MARK = "fuzz"
FIXTURES = ("fuzzer", "fuzz_fleet")


class FuzzFailure(AssertionError):
    """New fuzzing failures: the message is the whole report, no traceback adds to it."""


@dataclass
class _State:
    enabled: bool
    seed: Seed | None = None
    harness: HarnessConfig | None = None
    settings: FuzzSettings | None = None
    fleet: Fleet | None = None
    session: FuzzSession | None = None
    machines: list[MachineReport] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    nothing_checked: str | None = None
    exits: ExitStack = field(default_factory=ExitStack)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
        if self.fleet is not None:
            self.fleet.close()
            self.fleet = None
        self.exits.close()


_key = pytest.StashKey[_State]()


def pytest_configure(config: pytest.Config) -> None:
    state = _State(enabled=bool(config.getoption("fuzz", False)))
    config.stash[_key] = state
    if state.enabled:
        try:
            state.harness = harness_config(config)
        except HarnessError as exc:
            raise pytest.UsageError(f"--fuzz: {exc}") from None
        state.seed = seed_from_config(state.harness.fuzz, config.getoption("fuzz_seed"))


def _state(config: pytest.Config) -> _State:
    return config.stash[_key]


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = _state(config)
    if not state.enabled or state.seed is None:
        return []
    return [
        f"harness fuzz: {state.seed.describe()}; "
        f"replay with: pytest --fuzz --fuzz-seed {state.seed.value}"
    ]


def _is_fuzz_test(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return item.get_closest_marker(MARK) is not None or any(n in names for n in FIXTURES)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = _state(config)
    if not state.enabled:
        deselect(config, items, _is_fuzz_test)
        return
    try:
        fuzz_session = _open(config, state)
    except HarnessError as exc:
        state.close()
        raise pytest.UsageError(f"--fuzz: {exc}") from None
    anchor = state.settings.source if state.settings and state.settings.source else None
    node = FuzzFile.from_parent(session, path=anchor or _manifest_path(state))
    generated = [
        FuzzItem.from_parent(node, name=target.id, target=target) for target in fuzz_session.targets
    ]
    # Reported like a collected file, so the "collected N items" line counts them.
    config.hook.pytest_collectreport(
        report=pytest.CollectReport(node.nodeid, "passed", None, list(generated))
    )
    items.extend(generated)


def _manifest_path(state: _State) -> Path:
    assert state.harness is not None
    return state.harness.manifest


def _open(config: pytest.Config, state: _State) -> FuzzSession:
    """Start the fleet and plan the targets (once per session)."""
    if state.session is not None:
        return state.session
    assert state.harness is not None
    assert state.seed is not None
    project = harness_project(config)
    given = config.getoption("fuzz_settings")
    known = config.getoption("fuzz_baseline")
    only = config.getoption("fuzz_service") or []
    targets = config.getoption("fuzz_target") or []
    services = sorted({*only, *(t.split(" ", 1)[0] for t in targets)}) or None
    settings, baseline = prepare(
        project,
        settings_file=Path(given).resolve() if given else None,
        baseline=Path(known).resolve() if known else None,
        services=services or (),
        operations=[op for t in targets for op in t.split(" ", 1)[1:] if op != "stateful"],
    )
    state.settings = settings
    # SIGTERM becomes a KeyboardInterrupt, so the session ends and the fleet is torn down.
    state.exits.enter_context(sigterm_raises())
    state.fleet = launch_for_fuzzing(project, settings, services)
    fuzz_session = FuzzSession(
        state.fleet,
        settings,
        seed=state.seed,
        max_examples=config.getoption("fuzz_max_examples"),
        baseline=baseline,
        services=services,
    )
    state.session = fuzz_session
    fuzz_session.open()
    if targets:
        fuzz_session.targets = [t for t in fuzz_session.targets if t.id in targets]
        if not fuzz_session.targets:
            raise HarnessError(f"no fuzz target matches {', '.join(targets)}")
    return fuzz_session


class FuzzFile(pytest.File):
    """The file the fuzz items report under (fuzz.yaml, else the manifest)."""

    def collect(self) -> list[pytest.Item]:
        return []


class FuzzItem(pytest.Item):
    """One target: an operation's examples, coverage and fuzzing, or a stateful phase."""

    def __init__(self, *, target: FuzzTarget, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.add_marker(MARK)
        self.user_properties.append(("service", target.service))

    def runtest(self) -> None:
        state = _state(self.config)
        assert state.session is not None
        result = state.session.run(self.target)
        _judge(result, self.replay(state))

    def replay(self, state: _State) -> str:
        assert state.seed is not None
        return shlex.join(
            ["pytest", "--fuzz", "--fuzz-seed", str(state.seed.value), "--fuzz-target", self.name]
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FuzzFailure | HarnessError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


def _judge(result: TargetResult, replay: str) -> None:
    if result.errors or result.new_findings:
        raise FuzzFailure(describe_result(result, replay))
    if result.skipped is not None:
        pytest.skip(result.skipped)
    if result.known_findings:
        reasons = "; ".join(
            f"{f.check} at {f.operation}: {f.baseline_reason}" for f in result.known_findings
        )
        pytest.xfail(f"known failures (baseline): {reasons}")


# --- fixtures for the project's own fuzz tests (state machines) ---------------------------


class Fuzzer:
    """The fuzz session as tests see it: the fleet, the seed, and state machine runs."""

    def __init__(self, state: _State, request: pytest.FixtureRequest) -> None:
        assert state.fleet is not None
        assert state.seed is not None
        assert state.settings
        self._state = state
        self.fleet = state.fleet
        self.seed = state.seed
        self.settings = state.settings
        self._nodeid = request.node.nodeid

    def binding(
        self, *, reset: list[str] | None = None, invariants: list[str] | None = None
    ) -> FleetBinding:
        """The fleet as a state machine sees it: URLs, tokens, services reset per example."""
        session = self._state.session
        tokens = {}
        if session is not None:
            tokens = {n: s.bearer for n, s in session.services.items() if s.bearer}
        urls = {name: self.fleet.url(name) for name in self.fleet.services}
        return FleetBinding(
            urls=urls,
            tokens=tokens,
            reset=list(self.fleet.services) if reset is None else reset,
            invariants=invariants,
        )

    def run_machine(
        self,
        machine: type[FleetStateMachine],
        *,
        max_examples: int | None = None,
        steps: int | None = None,
        reset: list[str] | None = None,
        invariants: list[str] | None = None,
    ) -> MachineReport:
        spec = self.settings.spec.machine
        try:
            report = run_machine(
                machine,
                self.binding(reset=reset, invariants=invariants),
                seed=self.seed,
                max_examples=max_examples or spec.max_examples,
                steps=steps or spec.steps,
            )
        except MachineFailed as exc:
            replay = shlex.join(
                ["pytest", "--fuzz", "--fuzz-seed", str(self.seed.value), self._nodeid]
            )
            pytest.fail(f"{exc}\nReplay with: {replay}", pytrace=False)
        self._state.machines.append(report)
        return report


def make_fuzzer(request: pytest.FixtureRequest) -> Fuzzer:
    """The session's fuzz fleet and seed; ``fuzzer.run_machine(Model)`` runs a model (the
    plugin's ``fuzzer`` fixture returns this)."""
    state = _state(request.config)
    if not state.enabled:
        pytest.skip("needs --fuzz")
    if state.fleet is None:
        try:
            _open(request.config, state)
        except HarnessError as exc:
            pytest.fail(f"--fuzz: {exc}", pytrace=False)
    return Fuzzer(state, request)


# --- the end of the session ---------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_key, None)
    if state is None or not state.enabled:
        return
    try:
        run = _run_record(state)
        if run is not None and state.harness is not None:
            files = write_reports(run, state.harness.report_dir / "fuzz")
            state.reports = [files.json, files.junit, files.markdown]
        if run is not None and run.results and run.nothing_checked is not None:
            # Every target skipped: the items say "skipped", the session must not pass.
            state.nothing_checked = f"{run.nothing_checked}: zero work is not a pass"
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    finally:
        state.close()


def _run_record(state: _State) -> FuzzRun | None:
    if state.session is None:
        return None
    run = state.session.run_record
    run.machines = [asdict(report) for report in state.machines]
    return run if run.results or run.machines else None


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_key, None)
    if state is not None:
        state.close()  # idempotent; covers a session that never reached its finish


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_key, None)
    if state is None or not state.enabled or state.seed is None:
        return
    terminalreporter.section("fuzz")
    terminalreporter.write_line(
        f"{state.seed.describe()}; replay with: pytest --fuzz --fuzz-seed {state.seed.value}"
    )
    for report in state.machines:
        cover = report.coverage
        pairs = (
            f"; rules {cover['rules_exercised']}/{cover['rules']}, consecutive rule pairs "
            f"{cover['pairs_exercised']}/{cover['pairs']}"
            if cover
            else ""
        )
        terminalreporter.write_line(
            f"state machine {report.machine}: {report.runs} runs, "
            f"{report.invariant_checks} invariant checks in {report.seconds:.1f} s{pairs}"
        )
    for path in state.reports:
        terminalreporter.write_line(f"report: {path}")
    if state.nothing_checked is not None:
        terminalreporter.write_line(state.nothing_checked, red=True)
