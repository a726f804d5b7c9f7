"""``pytest --contracts``: consumer pacts, provider verification items and the OpenAPI checks.

Registered by ``harness.pytest_plugin`` only with ``--contracts`` (without it, the plugin
deselects every test marked ``contracts``, the consumer tests, and imports nothing here):

- consumer tests run and get ``consumer_pact(consumer, provider)``, a fresh pact each; the
  pacts of passing tests are written to the pacts directory before any verification runs;
- per pact file, one item for the pact itself (usable, provider in the manifest, verified
  at all), one per interaction (``gateway->orders: a request for an order``: the verifier's
  mismatches as type, path, expected, actual) and one for its drift from the provider's
  OpenAPI; per service with an OpenAPI, one breaking-change item against its baseline
  (``--contracts-update-baseline`` rewrites the baselines); one coverage item for the manifest;
- the providers start once, through the fleet lifecycle, on the first item that needs
  them, and stop at the end of the session; every verification is recorded in the matrix
  (git notes: the run leaves the work tree as it found it).

JUnit XML names the items exactly as the terminal does (classname: the pact file).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pact import Pact

from harness.config import HarnessConfig
from harness.contracts.consumer import PactBook
from harness.contracts.errors import ContractError
from harness.contracts.pactfile import InteractionKind, PactFile
from harness.contracts.session import (
    ContractPlan,
    ContractSession,
    load_plan,
    make_plan,
    open_session,
    publish_pacts,
)
from harness.errors import HarnessError
from harness.fleet.signals import sigterm_raises
from harness.pytest import deselect, harness_project

MARK = "contracts"


class ContractFailure(AssertionError):
    """A broken contract: the message is the whole report, no traceback adds to it."""


@dataclass
class _State:
    enabled: bool
    update_baseline: bool
    plan: ContractPlan | None = None
    book: PactBook | None = None
    session: ContractSession | None = None
    narrowed: bool = False
    flushed: bool = False
    notes: list[str] = field(default_factory=list)
    exits: ExitStack = field(default_factory=ExitStack)


_key = pytest.StashKey[_State]()


def pytest_configure(config: pytest.Config) -> None:
    state = _State(
        enabled=bool(config.getoption("contracts", False)),
        update_baseline=bool(config.getoption("contracts_update_baseline", False)),
    )
    config.stash[_key] = state
    # Hooks that get no `config` (test reports) reach this run's state through the object.
    config.pluginmanager.register(_RunHooks(state), _HOOKS_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    hooks = config.pluginmanager.get_plugin(_HOOKS_NAME)
    if hooks is not None:
        config.pluginmanager.unregister(hooks)


def _state(config: pytest.Config) -> _State:
    return config.stash[_key]


# --- consumer tests -----------------------------------------------------------------------


def consumer_pact(request: pytest.FixtureRequest) -> Callable[[str, str], Pact]:
    """``consumer_pact("gateway", "orders")``: a fresh V4 pact, kept if the test passes (the
    plugin's fixture of that name returns this)."""
    state = _state(request.config)
    if state.book is None:
        pytest.fail("consumer_pact needs --contracts", pytrace=False)
    book = state.book
    owner = request.node.nodeid

    def make(consumer: str, provider: str) -> Pact:
        return book.pact(consumer, provider, owner=owner)

    return make


_HOOKS_NAME = "harness-contracts-run"


class _RunHooks:
    def __init__(self, state: _State) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # The outcome of a consumer test decides whether its pacts count.
        book = self.state.book
        if book is None:
            return
        if report.when == "call":
            if report.passed:
                book.keep(report.nodeid)
            else:
                book.discard(report.nodeid)
        elif report.when == "setup" and not report.passed:
            book.discard(report.nodeid)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        # A consumer test left out by -k/-m/--deselect: its pair's file is merged, not
        # replaced (the run does not know the whole contract).
        if self.state.enabled and any(item.get_closest_marker(MARK) for item in items):
            self.state.narrowed = True


# --- collection ---------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = _state(config)
    if not state.enabled:
        deselect(config, items, lambda item: item.get_closest_marker(MARK) is not None)
        return
    try:
        project = harness_project(config)
        plan = load_plan(project)
    except HarnessError as exc:
        raise pytest.UsageError(f"--contracts: {exc}") from None
    state.plan = plan
    state.book = PactBook(plan.settings.pacts)
    args = [str(a) for a in config.args]
    state.narrowed = bool(
        config.getoption("keyword", "")
        or config.getoption("markexpr", "")
        or any("::" in a for a in args)
        or config.getoption("lf", False)
    )
    generated = _contract_items(session, plan, project.config)
    # Reported like collected files, so the "collected N items" line counts them too.
    by_file: dict[str, list[pytest.Item]] = {}
    for item in generated:
        by_file.setdefault(item.parent.nodeid if item.parent else "", []).append(item)
    for nodeid, found in by_file.items():
        report = pytest.CollectReport(nodeid, "passed", None, list(found))
        config.hook.pytest_collectreport(report=report)
    items.extend(generated)


def _contract_items(
    session: pytest.Session, plan: ContractPlan, hc: HarnessConfig
) -> list[pytest.Item]:
    found: list[pytest.Item] = []
    for pact in plan.pacts:
        node = ContractFile.from_parent(session, path=pact.path)
        found.append(PactItem.from_parent(node, name=pact.pair, pact=pact))
        for interaction in pact.interactions:
            found.append(
                InteractionItem.from_parent(
                    node,
                    name=f"{pact.pair}: {interaction.description}",
                    pact=pact,
                    description=interaction.description,
                )
            )
        if any(i.kind is InteractionKind.HTTP for i in pact.interactions):
            name = f"{pact.pair}: openapi"
            found.append(OpenApiDriftItem.from_parent(node, name=name, pact=pact))
    for service in plan.openapi_services:
        node = ContractFile.from_parent(session, path=plan.settings.baseline(service))
        name = f"{service}: breaking changes"
        found.append(EvolutionItem.from_parent(node, name=name, service=service))
    manifest = ContractFile.from_parent(session, path=hc.manifest)
    found.append(CoverageItem.from_parent(manifest, name="contract coverage"))
    return found


class ContractFile(pytest.File):
    """The file an item reports under (a pact, a baseline, the manifest); collects nothing."""

    def collect(self) -> list[pytest.Item]:
        return []


class ContractItem(pytest.Item):
    def runtest(self) -> None:
        raise NotImplementedError

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, ContractFailure | HarnessError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name

    def contract_session(self) -> ContractSession:
        return _session(self.config)


def _session(config: pytest.Config) -> ContractSession:
    state = _state(config)
    assert state.plan is not None
    if not state.flushed:
        state.flushed = True
        _flush_consumer_pacts(config, state)
    if state.session is None:
        state.exits.enter_context(sigterm_raises())
        state.session = open_session(harness_project(config), state.plan)
    return state.session


def _flush_consumer_pacts(config: pytest.Config, state: _State) -> None:
    """Write what the consumer tests defined, before anything verifies the pact files."""
    assert state.book is not None
    assert state.plan is not None
    written = state.book.write(narrowed=state.narrowed)
    changed = [w for w in written if w.changed]
    if changed:
        state.notes += [
            f"pact written: {w.path} ({w.interactions} interactions, {w.mode})" for w in changed
        ]
        # Verification reads the files as they are now.
        state.plan = make_plan(state.plan.settings, state.plan.manifest)
    if written:
        try:
            published = publish_pacts(harness_project(config), state.plan)
        except ContractError as exc:
            state.notes.append(f"publishing the pacts failed: {exc}")
        else:
            if published is not None:
                state.notes.append(published)


def _current_pact(config: pytest.Config, pact: PactFile) -> PactFile | None:
    plan = _state(config).plan
    assert plan is not None
    return next((p for p in plan.pacts if p.path == pact.path), None)


class PactItem(ContractItem):
    def __init__(self, *, pact: PactFile, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pact = pact

    def runtest(self) -> None:
        session = self.contract_session()
        plan = session.plan
        pact = _current_pact(self.config, self.pact)
        if pact is None:
            raise ContractFailure(f"{self.pact.path}: the consumer tests removed this pact")
        problems = plan.problems_of(pact)
        if not problems:
            verification = session.verification(pact.provider)
            problems = list(verification.problems)
            collected = {i.description for i in self.pact.interactions}
            for interaction in pact.interactions:
                result = verification.result(pact.consumer, interaction.description)
                if result is None or not result.reported:
                    problems.append(f"{interaction.description!r} was not verified")
                elif interaction.description not in collected and not (
                    result.passed or result.pending
                ):
                    # Added by this run's consumer tests: it has no item of its own yet.
                    problems.append(result.report)
        if problems:
            raise ContractFailure("\n".join([f"pact {pact.pair} ({pact.path.name}):", *problems]))


class InteractionItem(ContractItem):
    def __init__(self, *, pact: PactFile, description: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pact = pact
        self.description = description
        self.user_properties.append(("consumer", pact.consumer))
        self.user_properties.append(("provider", pact.provider))

    def runtest(self) -> None:
        session = self.contract_session()
        if session.plan.problems_of(self.pact):
            raise ContractFailure("\n".join(session.plan.problems_of(self.pact)))
        verification = session.verification(self.pact.provider)
        result = verification.result(self.pact.consumer, self.description)
        if result is None:
            problems = "; ".join(verification.problems) or "it is no longer in the pact"
            raise ContractFailure(f"{self.name}: not verified: {problems}")
        if result.passed:
            return
        if result.pending:
            pytest.xfail(f"pending interaction failed:\n{result.report}")
        raise ContractFailure(result.report)


class OpenApiDriftItem(ContractItem):
    def __init__(self, *, pact: PactFile, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pact = pact

    def runtest(self) -> None:
        session = self.contract_session()
        pact = _current_pact(self.config, self.pact) or self.pact
        if pact.provider not in session.plan.manifest.services:
            raise ContractFailure(f"{pact.provider} is not in the manifest: no OpenAPI to check")
        drifts = session.static_check(pact)
        if drifts:
            lines = [f"{len(drifts)} drift(s) of {pact.path.name} from {pact.provider}'s OpenAPI:"]
            lines += [d.render() for d in drifts]
            raise ContractFailure("\n".join(lines))


class EvolutionItem(ContractItem):
    def __init__(self, *, service: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service

    def runtest(self) -> None:
        update = _state(self.config).update_baseline
        result = self.contract_session().evolution(self.service, update=update)
        if not result.ok:
            raise ContractFailure(result.render())
        for change in result.changes:
            self.user_properties.append(("change", change.render()))


class CoverageItem(ContractItem):
    def runtest(self) -> None:
        plan = _state(self.config).plan
        assert plan is not None
        problems = plan.coverage_problems()
        if problems:
            raise ContractFailure("edges without a contract:\n" + "\n".join(problems))


# --- end of the session -------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state(session.config)
    if not state.enabled:
        return
    if state.book is not None and not state.flushed:
        state.flushed = True
        if state.plan is not None:
            _flush_consumer_pacts(session.config, state)
    try:
        if state.session is not None:
            state.session.close()
    finally:
        state.exits.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _state(config)
    if not state.enabled:
        return
    lines = list(state.notes)
    if state.session is not None:
        lines += state.session.notes
        for row in state.session.recorded:
            verdict = "ok" if row.success else "FAILED"
            lines.append(
                f"matrix: {row.consumer}->{row.provider} pact {row.pact_sha256[:12]} "
                f"@ {row.provider_version}: {verdict} ({row.interactions} interactions)"
            )
    if lines:
        terminalreporter.section("contracts")
        for line in lines:
            terminalreporter.write_line(line)
