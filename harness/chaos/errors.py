"""The errors of the chaos capability (all HarnessErrors; bad input is a SpecError)."""

from __future__ import annotations

from harness.errors import HarnessError, SpecError

__all__ = ["AttachError", "GameDayError", "ScenarioError"]


class ScenarioError(SpecError):
    """A chaos scenario is invalid: nothing was started."""


class AttachError(SpecError):
    """The description of a fleet to attach to cannot be used: nothing was started."""


class GameDayError(HarnessError):
    """The game-day could not be run (the load did not start, a fault not injected)."""
