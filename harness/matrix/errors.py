"""The errors of the fault matrix (bad input is a SpecError: nothing was started)."""

from __future__ import annotations

from harness.errors import HarnessError, InputError, SpecError

__all__ = ["ExpectationsError", "MatrixError", "SelectionError", "WorkloadError"]


class ExpectationsError(SpecError):
    """The expectations file is invalid (``file:line: field: why``)."""


class WorkloadError(SpecError):
    """A probe workload file is invalid."""


class SelectionError(InputError):
    """``--edges`` or ``--faults`` names something the fleet or the registry lacks."""


class MatrixError(HarnessError):
    """The matrix could not run (the clean workload passed nothing, no cell left, ...)."""
