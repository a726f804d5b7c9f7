"""Errors of the fuzz capability; all derive from the harness's own bases (harness.errors)."""

from __future__ import annotations

from harness.errors import HarnessError, InputError, SpecError

__all__ = [
    "AuthError",
    "FuzzError",
    "FuzzFileError",
    "FuzzInputError",
    "KnownFailuresError",
    "NothingToFuzz",
]


class FuzzError(HarnessError):
    """A fuzz run could not be carried out (not: fuzzing found a failure)."""


class FuzzInputError(InputError):
    """A service or operation asked for that the fleet does not have: nothing is fuzzed."""


class NothingToFuzz(FuzzInputError):
    """The input leaves nothing to fuzz (no OpenAPI, no operation): bad input, not a pass."""


class FuzzFileError(SpecError):
    """fuzz.yaml is invalid: nothing was started."""


class KnownFailuresError(InputError):
    """The baseline of known failures cannot be read (names the file and the fault)."""


class AuthError(FuzzError):
    """No token could be obtained from a service's token issuer."""
