"""The fault matrix: every edge of a fleet x every fault class, with a workload's checks
(the fleet's own functional tests, or a probe workload) as the oracle, expectations per
cell, pruning of unused edges, and a resilience-coverage figure.

The core entry is :func:`harness.matrix.session.run_matrix` (after
:func:`harness.matrix.session.prepare`); the CLI (``harness faults matrix``) and the pytest
plugin (``pytest --fault-matrix``) only adapt it. Nothing here imports pytest, typer or
rich. Fault classes are a registry (:mod:`harness.matrix.faultclasses`).
"""

from harness.matrix.errors import ExpectationsError, MatrixError, SelectionError, WorkloadError
from harness.matrix.faultclasses import FaultClass, fault_classes, register
from harness.matrix.outcome import Cell, CellResult, MatrixResult, Status

__all__ = [
    "Cell",
    "CellResult",
    "ExpectationsError",
    "FaultClass",
    "MatrixError",
    "MatrixResult",
    "SelectionError",
    "Status",
    "WorkloadError",
    "fault_classes",
    "register",
]
