"""Tests that need a Docker engine: skip with the reason when none answers, or fail when
the run requires one (``HARNESS_REQUIRE_DOCKER=1``, this repository's CI), and the
``component`` fixture's machinery. Cheap to import: the engine is asked on first need."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.fleet.lifecycle import Fleet

__all__ = ["DOCKER_MARK", "component_factory", "require_engine"]

DOCKER_MARK = "docker"
_problem_key = pytest.StashKey["str | None"]()


def require_engine(config: pytest.Config) -> None:
    """Skip (or fail, when required) the current test unless a Docker engine answers."""
    if _problem_key not in config.stash:
        from harness.infra.docker_engine import engine_problem

        config.stash[_problem_key] = engine_problem()
    problem = config.stash[_problem_key]
    if problem is None:
        return
    from harness.config import require_docker

    if require_docker():
        pytest.fail(f"{problem} (HARNESS_REQUIRE_DOCKER is set: this run must have Docker)")
    pytest.skip(problem)


def component_factory(
    config: pytest.Config, harness_config: HarnessConfig
) -> Iterator[Callable[..., Fleet]]:
    """``make(*services, env=None, provider="docker")``: those services of the manifest
    (with what they need), started once per distinct arguments for the fixture's scope,
    all closed at its end."""
    from harness.errors import HarnessError
    from harness.fleet.component import start_component
    from harness.fleet.signals import sigterm_raises

    started: dict[tuple[Any, ...], Fleet] = {}

    def make(
        *services: str, env: Mapping[str, str] | None = None, provider: str = "docker"
    ) -> Fleet:
        if provider == "docker":
            require_engine(config)
        key = (services, tuple(sorted((env or {}).items())), provider)
        if key not in started:
            try:
                started[key] = start_component(harness_config, services, env=env, provider=provider)
            except HarnessError as exc:
                named = ", ".join(services)
                pytest.fail(f"harness: component {named} did not start\n{exc}", pytrace=False)
        return started[key]

    with sigterm_raises():
        try:
            yield make
        finally:
            for fleet in started.values():
                fleet.close()
