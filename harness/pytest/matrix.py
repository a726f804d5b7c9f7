"""pytest's side of the fault matrix: ``pytest --fault-matrix <selection>``.

The selected tests are the workload and the oracle. Instead of pytest's own loop, the
selection runs once clean and then once per cell (edge x fault class) through
:func:`harness.matrix.session.run_matrix`, the core entry the CLI uses too; a test that
passes clean and fails under a cell is a finding. The fleet is the value of the selection's
``fleet`` fixture (the plugin's session fixture, or the suite's own of any scope shared by
the whole selection); it is seen when the fixture is made, so the matrix reads each edge's
traffic from the first test on. Each re-run goes through ``runtestprotocol`` (as
pytest-rerunfailures does); the last item of a run is torn down towards the first, so
fixtures the whole selection shares (the fleet) live from one run to the next, and
everything is torn down once the matrix is done. Reports go to
``<report_dir>/matrix`` (or ``--fault-matrix-report-dir``); the session fails when a cell
is not as expected or a test fails clean.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Generator
from pathlib import Path
from typing import Any

import pytest
from _pytest.runner import runtestprotocol

from harness.errors import InputError
from harness.fleet.lifecycle import Fleet
from harness.matrix.session import DEFAULT_SUBDIR, prepare, run_matrix
from harness.matrix.workload import CLEAN_RUN, CheckOutcome, OnFleet, WorkloadRun
from harness.pytest import harness_config, harness_project

__all__ = ["PytestWorkload"]

_workload_key = pytest.StashKey["PytestWorkload"]()


def _message(reports: list[pytest.TestReport]) -> str:
    for report in reports:
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            text = getattr(crash, "message", None) or report.longreprtext
            return f"{report.when}: {text}".strip()[:500]
        if report.skipped:
            return "skipped"
    return ""


class _Towards:
    """The item's own collectors without the item: tearing down "towards" it finalizes the
    item's function-scoped fixtures and keeps the rest (when an item runs again right after
    itself; pytest's teardown reads only ``listchain()`` of the next item)."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item

    def listchain(self) -> list[Any]:
        return self.item.listchain()[:-1]


class PytestWorkload:
    """The selected items, run again and again in this session."""

    def __init__(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        self.session = session
        self.items = items
        self.description = f"pytest selection ({len(items)} tests)"
        self._fleet: Fleet | None = None
        self._on_fleet: OnFleet | None = None

    @property
    def fleet(self) -> Fleet | None:
        return self._fleet

    def saw(self, fleet: Fleet) -> None:
        if self._fleet is None or self._fleet is not fleet:
            self._fleet = fleet
            if self._on_fleet is not None:
                self._on_fleet(fleet)

    def run(
        self, label: str, only: Collection[str] | None = None, on_fleet: OnFleet | None = None
    ) -> WorkloadRun:
        self._on_fleet = on_fleet
        chosen = [i for i in self.items if only is None or i.nodeid in only]
        run = WorkloadRun(label)
        began = time.monotonic()
        try:
            for index, item in enumerate(chosen):
                # The last item tears down towards the first: what the whole selection
                # shares (the fleet) stays up for the next run.
                following: Any = chosen[index + 1] if index + 1 < len(chosen) else self.items[0]
                if following is item:
                    following = _Towards(item)
                t0 = time.monotonic()
                # The clean run is reported as pytest reports any run (the terminal, JUnit,
                # the session's failure count); the cells' runs are the matrix's to report.
                log = label == CLEAN_RUN
                if log:
                    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
                reports = runtestprotocol(item, log=log, nextitem=following)
                if log:
                    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
                passed = all(r.passed for r in reports)
                run.checks[item.nodeid] = CheckOutcome(
                    item.nodeid, passed, "" if passed else _message(reports), time.monotonic() - t0
                )
        finally:
            self._on_fleet = None
        run.seconds = time.monotonic() - began
        return run

    def teardown(self) -> None:
        """Tear down what the runs left set up (the shared fixtures, the fleet). pytest's
        own loop does this with the last item's ``nextitem=None``; the hook would also
        clear per-item state our runs already cleared, so the setup state is asked directly
        (what pytest-rerunfailures uses too)."""
        self.session._setupstate.teardown_exact(None)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: Any, request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    value = yield
    workload = request.config.stash.get(_workload_key, None)
    if workload is not None and fixturedef.argname == "fleet" and isinstance(value, Fleet):
        workload.saw(value)
    return value


def _line(session: pytest.Session, text: str, **markup: bool) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(text, **markup)


def _progress(session: pytest.Session) -> Any:
    def show(event: dict[str, Any]) -> None:
        if event["kind"] == "cell" and event.get("state") == "done":
            mark = "" if event.get("as_expected") else "  (not as expected)"
            _line(
                session,
                f"matrix {event['n']:>3}/{event['of']} {event['cell']}: {event['status']}"
                f" {event['seconds']:.1f}s{mark}",
                red=not event.get("as_expected"),
            )
        elif event["kind"] == "clean":
            _line(session, f"matrix clean run: {event['passed']} passed, {event['failed']} failed")

    return show


def pytest_runtestloop(session: pytest.Session) -> bool | None:
    config = session.config
    if session.testsfailed and not config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} errors during collection")
    if config.option.collectonly or not session.items:
        return None
    try:
        project = harness_project(config)
        plan = prepare(
            project,
            expectations=_path(config.getoption("fault_matrix_expectations")),
            # The selection is the workload; a load profile may run beside it.
            workload=[load] if (load := _path(config.getoption("fault_matrix_load"))) else [],
            edges=config.getoption("fault_matrix_edges") or None,
            faults=config.getoption("fault_matrix_faults") or None,
            prune=not config.getoption("fault_matrix_no_prune"),
            need_workload=False,
        )
    except InputError as exc:
        raise pytest.UsageError(f"--fault-matrix: {exc}") from None
    workload = PytestWorkload(session, list(session.items))
    config.stash[_workload_key] = workload
    out = _path(config.getoption("fault_matrix_report_dir")) or (
        harness_config(config).report_dir / DEFAULT_SUBDIR
    )
    try:
        result = run_matrix(
            plan,
            workload,
            report_dir=out,
            baseline=_path(config.getoption("fault_matrix_baseline")),
            on_progress=_progress(session),
        )
    except InputError as exc:
        raise pytest.UsageError(f"--fault-matrix: {exc}") from None
    finally:
        workload.teardown()
    overall, per = result.coverage()
    clean_failures = [c for c in result.clean_checks if not c.passed]
    for check in clean_failures:
        _line(session, f"failed clean: {check.id}: {check.message}", red=True)
    for edge, why in result.pruned.items():
        _line(session, f"matrix pruned {edge}: {why}")
    for edge, why in result.kept.items():
        _line(session, f"matrix kept {edge}: {why}")
    services = ", ".join(f"{name} {cov}" for name, cov in per.items())
    _line(session, f"matrix resilience coverage {overall} ({services})")
    _line(
        session,
        f"matrix {'as expected' if result.ok else 'NOT as expected'}: {result.reason}",
        green=result.ok,
        red=not result.ok,
    )
    _line(session, f"matrix report: {result.artifacts.get('markdown')}")
    # Clean failures were counted as they were reported; a cell not as expected adds one.
    session.testsfailed += 0 if result.ok else 1
    return True


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
