"""Chaos game-days from scenario files: a steady-state hypothesis checked before, during and
after timed faults under load, with rollbacks that always run and a journal and reports.

The core entry is :func:`harness.chaos.session.run_gameday`; the CLI (``harness gameday``)
and the pytest plugin (``pytest --chaos``) only adapt it. Nothing here imports pytest,
typer or rich.
"""

from harness.chaos.errors import ScenarioError
from harness.chaos.outcome import GameDayResult, Verdict
from harness.chaos.scenario import Scenario, load_scenario

__all__ = [
    "GameDayResult",
    "Scenario",
    "ScenarioError",
    "Verdict",
    "load_scenario",
]
