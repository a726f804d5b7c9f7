"""Errors of the fuzz capability; all derive from the harness's own bases."""

from __future__ import annotations

from harness.errors import HarnessError, SpecError


class FuzzError(HarnessError):
    """A fuzz run could not be carried out (not: fuzzing found a failure)."""


class FuzzFileError(SpecError):
    """fuzz.yaml is invalid: nothing was started."""


class BaselineError(FuzzError):
    """The baseline file cannot be read (names the file and the fault)."""


class AuthError(FuzzError):
    """No token could be obtained from a service's token issuer."""
