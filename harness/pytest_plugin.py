"""The pytest plugin (entry point ``harness``): options, ini settings and fixtures, no more.

Everything it does is harness core (``harness.config``, ``harness.fleet``); this module
only translates pytest's options into a configuration and core objects into fixtures.

Fixtures: ``harness_config`` (session), ``fleet`` (session: the fleet from the manifest,
torn down at the end of the session, on Ctrl-C and on SIGTERM), ``toxiproxy`` (the fleet's
Toxiproxy client) and ``edge`` (a factory: ``edge("orders->payments")`` gives that edge's
faults; whatever a test left on the edge is removed after it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from harness.config import HarnessConfig
from harness.errors import ConfigError, HarnessError, SpecError
from harness.faults.edge import EdgeFaults
from harness.faults.toxiproxy import ToxiproxyClient
from harness.fleet.launch import launch_from_config
from harness.fleet.lifecycle import Fleet
from harness.fleet.signals import sigterm_raises
from harness.pytest import INI
from harness.pytest import harness_config as resolve_config

# Suites implemented in modules of their own (harness/pytest/), registered with the plugin.
pytest_plugins = [
    "harness.pytest.load",
    "harness.pytest.contracts",
    "harness.pytest.fuzz",
    "harness.pytest.chaos",
]
_IMPLEMENTED_SUITES = {"load", "contracts", "fuzz", "chaos"}

_RESERVED_SUITES = {
    "contracts": "run the contract suites: consumer pacts and provider verification",
    "fuzz": "run the property-based API fuzzing suites over each service's OpenAPI",
    "load": "run the load profiles (Locust, in a subprocess) and check their thresholds",
    "chaos": "run the chaos scenarios (faults under load, steady-state checks)",
}


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
        choices=["local", "external", "docker"],
        default=None,
        help="infrastructure provider for the `fleet` fixture (default: [tool.harness])",
    )
    group.addoption(
        "--harness-keep-logs",
        action="store_true",
        default=None,
        help="copy the fleet's logs into <report_dir>/logs at the end of the session",
    )
    for suite, text in _RESERVED_SUITES.items():
        group.addoption(
            f"--{suite}",
            action="store_true",
            default=False,
            help=text
            if suite in _IMPLEMENTED_SUITES
            else f"{text} (reserved for a later release: no effect yet)",
        )
    for name, text in INI.items():
        parser.addini(name, text, default=None)


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> HarnessConfig:
    """The resolved harness configuration (files < ini < environment < options)."""
    try:
        return resolve_config(pytestconfig)
    except ConfigError as exc:
        pytest.fail(f"harness configuration: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def fleet(harness_config: HarnessConfig) -> Iterator[Fleet]:
    """The fleet of the configured manifest, started once for the session."""
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
