"""The pytest plugin (entry point ``harness``): options, ini settings and fixtures, no more.

Everything it does is harness core (``harness.config``, ``harness.fleet``); this module
only translates pytest's options into a configuration and core objects into fixtures.

It costs nothing until asked: every option is declared here, but a suite's module
(``harness.pytest.contracts``, ``.fuzz``, ``.load``, ``.chaos``, and with it Pact,
Schemathesis, Hypothesis, Locust, matplotlib) is imported and registered in
``pytest_configure`` only when its switch (``--contracts``, ``--fuzz``, ``--load``,
``--chaos``) is given; a missing extra is a usage
error naming the ``pip install`` line. Without its switch, a suite's tests are deselected.

Fixtures: ``harness_config`` (session), ``fleet`` (session: the fleet from the manifest,
torn down at the end of the session, on Ctrl-C and on SIGTERM), ``toxiproxy`` (the fleet's
Toxiproxy client), ``edge`` (a factory: ``edge("orders->payments")`` gives that edge's
faults; whatever a test left on the edge is removed after it), ``component`` (module: a
factory, ``component("orders")`` is that service of the manifest on containerised
PostgreSQL and Redis with Toxiproxy on every edge), and the suites' own:
``consumer_pact`` (needs ``--contracts``), ``fuzzer`` / ``fuzz_fleet`` (need ``--fuzz``),
``run_load_profile`` (any run).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness.pytest import INI, deselect
from harness.pytest import harness_config as resolve_config

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.faults.edge import EdgeFaults
    from harness.faults.toxiproxy import ToxiproxyClient
    from harness.fleet.lifecycle import Fleet

# switch -> help; each needs the extra of its name (harness.extras)
SUITES = {
    "contracts": "run the contract suites: consumer pacts and provider verification",
    "fuzz": "run the property-based API fuzzing suites over each service's OpenAPI",
    "load": "run the load profiles (Locust, in a subprocess) and check their thresholds",
    "chaos": "run the chaos scenarios (faults under load, steady-state checks)",
}
CONTRACTS_MARK = "contracts"
FUZZ_MARK = "fuzz"
FUZZ_FIXTURES = ("fuzzer", "fuzz_fleet")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "harness: contract and chaos testing of a fleet")
    group.addoption(
        "--harness-manifest",
        metavar="PATH",
        default=None,
        help="fleet manifest for the `fleet` fixture (default: [tool.harness] manifest)",
    )
    group.addoption(
        "--harness-provider",
        choices=["local", "docker", "external"],
        default=None,
        help="infrastructure provider for the `fleet` fixture (default: [tool.harness])",
    )
    group.addoption(
        "--harness-fleet-backend",
        choices=["process", "docker"],
        default=None,
        help="how the `fleet` fixture runs the services: process | docker (containers)",
    )
    group.addoption(
        "--harness-keep-logs",
        action="store_true",
        default=None,
        help="copy the fleet's logs into <report_dir>/logs at the end of the session",
    )
    for suite, text in SUITES.items():
        group.addoption(f"--{suite}", action="store_true", default=False, help=text)
    _suite_options(group)
    for name, (_, text) in INI.items():
        parser.addini(name, text, default=None)


def _suite_options(group: Any) -> None:
    """The suites' own options: each carries its suite's prefix."""
    group.addoption(
        "--contracts-update-baseline",
        action="store_true",
        default=False,
        help="with --contracts: rewrite contracts/openapi/<service>.json from the running services",
    )
    group.addoption(
        "--fuzz-seed",
        type=int,
        default=None,
        metavar="N",
        help="with --fuzz: the seed (default: fresh each run, the configured one in CI)",
    )
    group.addoption(
        "--fuzz-max-examples",
        type=int,
        default=None,
        metavar="N",
        help="with --fuzz: examples per operation (default: fuzz.yaml, 100)",
    )
    group.addoption(
        "--fuzz-service",
        action="append",
        default=[],
        metavar="NAME",
        help="with --fuzz: fuzz only this service (repeatable)",
    )
    group.addoption(
        "--fuzz-target",
        action="append",
        default=[],
        metavar="ID",
        help="with --fuzz: only this target, e.g. 'inventory GET /stock/{sku}' (repeatable)",
    )
    group.addoption(
        "--fuzz-baseline",
        default=None,
        metavar="PATH",
        help="with --fuzz: known failures (default: fuzz.yaml's, scenarios/fuzz/baseline.json)",
    )
    group.addoption(
        "--fuzz-settings",
        default=None,
        metavar="PATH",
        help="with --fuzz: the fuzz settings file (default: configuration's fuzz.settings)",
    )
    group.addoption(
        "--fault-matrix",
        action="store_true",
        default=False,
        help="run the selected tests once clean, then once per edge x fault class: a test "
        "passing clean and failing under a fault is a finding (harness.matrix)",
    )
    group.addoption(
        "--fault-matrix-edges",
        action="append",
        default=[],
        metavar="EDGES",
        help="with --fault-matrix: only these edges (names or globs, comma-separated)",
    )
    group.addoption(
        "--fault-matrix-faults",
        action="append",
        default=[],
        metavar="FAULTS",
        help="with --fault-matrix: only these fault classes (names or globs)",
    )
    group.addoption(
        "--fault-matrix-expectations",
        default=None,
        metavar="PATH",
        help="with --fault-matrix: the expectations file (default: "
        "<chaos.scenarios>/expectations.yaml when it exists)",
    )
    group.addoption(
        "--fault-matrix-load",
        default=None,
        metavar="PROFILE",
        help="with --fault-matrix: a load profile run after the selection in each cell, "
        "judged by the expectations' load: error budget",
    )
    group.addoption(
        "--fault-matrix-baseline",
        default=None,
        metavar="JSON",
        help="with --fault-matrix: a previous run's matrix.json (coverage delta)",
    )
    group.addoption(
        "--fault-matrix-report-dir",
        default=None,
        metavar="DIR",
        help="with --fault-matrix: where its reports go (default: <report_dir>/matrix)",
    )
    group.addoption(
        "--fault-matrix-no-prune",
        action="store_true",
        default=False,
        help="with --fault-matrix: keep the edges the clean run never used",
    )
    group.addoption(
        "--load-baseline",
        metavar="REPORT",
        default=None,
        help="with --load: compare each profile's run with this report.json (e.g. main's)",
    )


def _suite_module(suite: str) -> Any:
    """The suite's module, once its extra is known to be installed (else a usage error)."""
    from harness.extras import MissingExtraError, require

    try:
        require(suite, f"--{suite}")
    except MissingExtraError as exc:
        raise pytest.UsageError(str(exc)) from None
    return importlib.import_module(f"harness.pytest.{suite}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{CONTRACTS_MARK}: a consumer contract test (runs only with --contracts)"
    )
    config.addinivalue_line("markers", f"{FUZZ_MARK}: a fuzzing test (runs only with --fuzz)")
    config.addinivalue_line(
        "markers",
        "docker: needs a Docker engine; skipped without one (failed with HARNESS_REQUIRE_DOCKER=1)",
    )
    for suite in SUITES:
        name = f"harness-{suite}"
        if config.getoption(suite) and not config.pluginmanager.has_plugin(name):
            # Registered now, its own pytest_configure runs too (the hook is historic).
            config.pluginmanager.register(_suite_module(suite), name)
    if config.getoption("fault_matrix") and not config.pluginmanager.has_plugin("harness-matrix"):
        # The matrix is a game-day's relative: it needs the chaos extra.
        from harness.extras import MissingExtraError, require

        try:
            require("chaos", "--fault-matrix")
        except MissingExtraError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.register(
            importlib.import_module("harness.pytest.matrix"), "harness-matrix"
        )


def _is_fuzz_test(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return item.get_closest_marker(FUZZ_MARK) is not None or any(n in names for n in FUZZ_FIXTURES)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A suite that is off leaves its tests out of the run (deselected, not skipped)."""
    if not config.getoption("contracts"):
        deselect(config, items, lambda item: item.get_closest_marker(CONTRACTS_MARK) is not None)
    if not config.getoption("fuzz"):
        deselect(config, items, _is_fuzz_test)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        from harness.pytest.docker import require_engine

        require_engine(item.config)


# --- the fleet ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> HarnessConfig:
    """The resolved harness configuration (files < ini < environment < options)."""
    from harness.errors import ConfigError

    try:
        return resolve_config(pytestconfig)
    except ConfigError as exc:
        pytest.fail(f"harness configuration: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def fleet(harness_config: HarnessConfig) -> Iterator[Fleet]:
    """The fleet of the configured manifest, started once for the session."""
    from harness.errors import HarnessError, SpecError
    from harness.fleet.launch import launch_from_config
    from harness.fleet.signals import sigterm_raises

    # SIGTERM becomes a KeyboardInterrupt: pytest then ends the session and this
    # fixture's teardown runs, as for Ctrl-C.
    with sigterm_raises():
        try:
            running = launch_from_config(harness_config)
        except SpecError as exc:
            pytest.fail(f"harness: invalid manifest\n{exc}", pytrace=False)
        except HarnessError as exc:
            pytest.fail(f"harness: the fleet did not start\n{exc}", pytrace=False)
        try:
            yield running
        finally:
            running.close()


@pytest.fixture(scope="session")
def toxiproxy(fleet: Fleet) -> ToxiproxyClient:
    """The client of the fleet's Toxiproxy server."""
    return fleet.toxiproxy


@pytest.fixture
def edge(fleet: Fleet) -> Iterator[Callable[[str], EdgeFaults]]:
    """``edge("orders->payments")``: that edge's faults; cleared again after the test."""
    used: list[str] = []

    def faults(name: str) -> EdgeFaults:
        found = fleet.edge(name)
        used.append(name)
        return found

    yield faults
    for name in dict.fromkeys(used):
        fleet.clear_edge(name)


@pytest.fixture(scope="module")
def component(
    pytestconfig: pytest.Config, harness_config: HarnessConfig
) -> Iterator[Callable[..., Fleet]]:
    """``component("orders", env={"X": "1"})``: that service of the manifest (with the
    services it calls; several names start together) against its database in a
    PostgreSQL container and its broker in a Redis container, every edge through
    Toxiproxy (``fleet.edge("orders->postgres")``); started once per module and
    arguments. Skips without a Docker engine (fails with ``HARNESS_REQUIRE_DOCKER=1``).
    Images: ``infra.postgres_image`` etc."""
    from harness.pytest.docker import component_factory

    yield from component_factory(pytestconfig, harness_config)


# --- the suites' fixtures: declared here, made by the suite's module -------------------------


def _needs(request: pytest.FixtureRequest, suite: str) -> Any:
    if not request.config.getoption(suite):
        pytest.skip(f"needs --{suite}")
    return _suite_module(suite)


@pytest.fixture
def consumer_pact(request: pytest.FixtureRequest) -> Any:
    """``consumer_pact("gateway", "orders")``: a fresh V4 pact, kept if the test passes
    (needs ``--contracts``)."""
    return _needs(request, "contracts").consumer_pact(request)


@pytest.fixture
def fuzzer(request: pytest.FixtureRequest) -> Any:
    """The session's fuzz fleet and seed; ``fuzzer.run_machine(Model)`` runs a model
    (needs ``--fuzz``)."""
    return _needs(request, "fuzz").make_fuzzer(request)


@pytest.fixture
def fuzz_fleet(fuzzer: Any) -> Fleet:
    """The fleet the fuzz session runs (fuzz.yaml's environment overrides applied)."""
    fleet: Fleet = fuzzer.fleet
    return fleet


@pytest.fixture
def run_load_profile(request: pytest.FixtureRequest, harness_config: HarnessConfig) -> Any:
    """``run_load_profile("scenarios/load/x.yaml", baseline=None, base_url=None, workers=None)``:
    runs the profile now and returns its LoadResult (see harness.pytest.load)."""
    return _suite_module("load").load_profile_runner(request, harness_config)
