"""Errors the harness raises; every one derives from HarnessError so callers can catch ours only.

The cross-cutting ones live here; each capability adds its own in its ``errors.py``. The
adapters map :class:`InputError` to exit code 2 ("bad input, nothing was started") and any
other :class:`HarnessError` to 1 (``harness.cli.exits``)::

    HarnessError
    ├── InputError                     bad input: nothing was started (exit 2)
    │   ├── ConfigError                [tool.harness], harness.toml, HARNESS_* variables
    │   └── SpecError                  a user's file, one ``file:line: field: why`` per issue
    │       ├── ManifestError          the fleet manifest
    │       ├── contracts.ContractsFileError, fuzz.FuzzFileError, load.LoadProfileError
    │       ├── chaos.ScenarioError    a game-day scenario
    │       ├── chaos.AttachError      the description of a fleet to attach to
    │       └── ...
    │   ├── fuzz.KnownFailuresError    the fuzz baseline of known failures
    │   ├── load.LoadBaselineError     the earlier load report to compare with
    │   └── invariants.InvariantError  an invariant module that cannot be used
    ├── InfraError                     a server process or a provider failed
    ├── FleetError                     a fleet could not start or be driven
    │   ├── ServiceNotReadyError       a service did not become ready in time
    │   ├── fleet.readiness.NotReady   one readiness check said no (a boot retries it)
    │   ├── fleet.openapi.OpenApiUnavailable  a service's OpenAPI could not be read
    │   └── fleet.smoke.SmokeError     a step of `harness fleet smoke` failed
    ├── faults.toxiproxy.ToxiproxyError
    │   └── faults.recovery.RecoveryFailed   a proxy could not be restored, even by escalation
    ├── contracts.ContractError        a contract run could not be carried out
    ├── fuzz.FuzzError                 a fuzz run could not be carried out
    ├── load.LoadError                 a load run could not be carried out
    └── chaos.GameDayError             a game-day could not be carried out
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "FleetError",
    "HarnessError",
    "InfraError",
    "InputError",
    "ManifestError",
    "ServiceNotReadyError",
    "SpecError",
    "SpecIssue",
]


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class InputError(HarnessError):
    """Bad input (a file, a setting, an option): raised before anything was started."""


class InfraError(HarnessError):
    """Infrastructure (a server process, a provider) failed; the message carries the log tail."""


@dataclass(frozen=True)
class SpecIssue:
    """One fault in a user's file: where (file, 1-based line, dotted field path) and why."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class SpecError(InputError):
    """A user's file (manifest, profile, scenario) is invalid; one line per issue."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    @property
    def file(self) -> str:
        return self.issues[0].file if self.issues else ""

    @property
    def line(self) -> int:
        return self.issues[0].line if self.issues else 0

    @property
    def field_path(self) -> str:
        return self.issues[0].field if self.issues else ""

    @property
    def message(self) -> str:
        return self.issues[0].message if self.issues else ""


class ManifestError(SpecError):
    """The fleet manifest is invalid: nothing was started."""


class ConfigError(InputError):
    """The harness configuration (pyproject [tool.harness], harness.toml, env vars) is invalid."""


class FleetError(HarnessError):
    """A fleet could not start or be driven (readiness timeout, unknown service or edge)."""


class ServiceNotReadyError(FleetError):
    """A service did not become ready in time; the message carries the tail of its log."""
