"""Errors of the load capability; all derive from the harness's own bases (harness.errors)."""

from __future__ import annotations

from harness.errors import HarnessError, InputError, SpecError

__all__ = ["LoadBaselineError", "LoadError", "LoadProfileError", "LoadRunError", "SetupStepError"]


class LoadError(HarnessError):
    """A load run could not be carried out (not: a threshold failed)."""


class LoadProfileError(SpecError):
    """A load profile is invalid: nothing was started."""


class LoadBaselineError(InputError):
    """The earlier load report to compare with cannot be used (missing, not a load report)."""


class LoadRunError(LoadError):
    """Locust could not run the profile (crashed, timed out, wrote no results)."""


class SetupStepError(LoadError):
    """A setup request failed; nothing was loaded."""
