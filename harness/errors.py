"""Errors the harness raises; every one derives from HarnessError so callers can catch ours only."""


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class InfraError(HarnessError):
    """Infrastructure (a server process, a provider) failed; the message carries the log tail."""


# --- fleet, manifests and user files (appended by the fleet layer) ---------------------------

from dataclasses import dataclass  # noqa: E402  (kept next to the classes that use it)


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


class SpecError(HarnessError):
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


class ConfigError(HarnessError):
    """The harness configuration (pyproject [tool.harness], harness.toml, env vars) is invalid."""


class FleetError(HarnessError):
    """A fleet could not start or be driven (readiness timeout, unknown service or edge)."""


class ServiceNotReadyError(FleetError):
    """A service did not become ready in time; the message carries the tail of its log."""


class SmokeError(HarnessError):
    """A step of the smoke flow failed; ``step`` names it."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"{step}: {reason}")
