"""How a project fuzzes its fleet: ``fuzz.yaml`` (optional; defaults cover a plain fleet).

The file sits at ``<root>/scenarios/fuzz/fuzz.yaml`` (``fuzz.settings`` in the
configuration moves it); paths in it are relative to its directory. Every service of the
manifest that publishes an OpenAPI is fuzzed; the file only says what differs:

```yaml
version: 1
baseline: baseline.json          # known failures: CI fails only on new ones
max_examples: 100                # per operation
stateful: {max_examples: 10, max_steps: 6}   # Schemathesis' stateful phase, per service
machine: {max_examples: 50, steps: 10}       # fleet state machines (tests/fuzz)
invariants: [tests.fuzz.invariants]          # modules registering the fleet's invariants
services:
  gateway:
    env: {RATE_LIMIT_RPS: "100000"}          # the fuzz fleet's own environment overrides
    auth:
      token: {path: /auth/token, body: {client_id: harness-fuzz, scopes: [admin]}}
  orders:
    operations:
      POST /orders:
        exclude_checks:
          positive_data_acceptance: why this check cannot hold here
```
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import SpecIssue
from harness.fuzz.errors import FuzzFileError
from harness.yamlsource import Problem, load_model

DEFAULT_FILE = Path("scenarios") / "fuzz" / "fuzz.yaml"

# The checks a fuzz run makes (Schemathesis' names). object_level_authorization needs two
# identities and max_response_time a budget, so neither is on unless a project adds them.
DefaultCheck = Literal[
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
]
OptionalCheck = Literal["object_level_authorization"]
CheckName = Literal[DefaultCheck, OptionalCheck]  # what fuzz.yaml may name
DEFAULT_CHECKS: tuple[str, ...] = get_args(DefaultCheck)
OPTIONAL_CHECKS: tuple[str, ...] = get_args(OptionalCheck)
# An exclusion must say why: it is read in review, long after the run that prompted it.
Reason = Annotated[str, Field(min_length=10)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]
OperationLabel = Annotated[
    str, Field(pattern=r"^(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE) /\S*$")
]
EnvValue = str | int | float


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenSpec(_Strict):
    """Get a bearer token from the service's token issuer before fuzzing it."""

    # None: the POST operation of the OpenAPI whose answer has an `access_token`.
    path: Annotated[str, Field(pattern=r"^/")] | None = None
    body: dict[str, Any] = Field(default_factory=lambda: {"client_id": "harness-fuzz"})
    field: str = "access_token"


class AuthSpec(_Strict):
    token: TokenSpec | None = None
    # A fixed token instead (e.g. from an environment variable the CI sets).
    bearer: str | None = None


class OperationSpec(_Strict):
    skip: Reason | None = None
    exclude_checks: dict[CheckName, Reason] = Field(default_factory=dict)


class ServiceSpec(_Strict):
    skip: Reason | None = None
    env: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], EnvValue] = Field(
        default_factory=dict
    )
    auth: AuthSpec | None = None
    checks: list[CheckName] = Field(default_factory=list)  # added to the defaults
    exclude_checks: dict[CheckName, Reason] = Field(default_factory=dict)
    operations: dict[OperationLabel, OperationSpec] = Field(default_factory=dict)


class StatefulSpec(_Strict):
    """Schemathesis' stateful phase, per service: it follows the OpenAPI links the service
    declares, or the ones Schemathesis infers (POST -> GET/DELETE by id) where there are none."""

    enabled: bool = True
    max_examples: int = Field(default=10, ge=1)
    max_steps: int = Field(default=6, ge=2)


class MachineSpec(_Strict):
    """Hypothesis state machines over the fleet (the project's own, e.g. tests/fuzz)."""

    max_examples: int = Field(default=50, ge=1)
    steps: int = Field(default=10, ge=1)


class FuzzFile(_Strict):
    version: Literal[1]
    baseline: str = "baseline.json"
    max_examples: int = Field(default=100, ge=1)
    request_timeout: float = Field(default=10.0, gt=0)
    # Fuzzing injects no faults: without Toxiproxy on every edge each request takes one hop
    # less. True keeps the proxies (to fuzz under a fault applied by hand, say).
    proxied: bool = False
    stateful: StatefulSpec = StatefulSpec()
    machine: MachineSpec = MachineSpec()
    checks: list[CheckName] = Field(default_factory=list)  # added to the defaults
    exclude_checks: dict[CheckName, Reason] = Field(default_factory=dict)
    invariants: list[str] = Field(default_factory=list)
    services: dict[Name, ServiceSpec] = Field(default_factory=dict)

    # Set on a subclass by load_settings: the manifest's services, for the name check.
    known_services: ClassVar[frozenset[str] | None] = None

    def problems(self) -> Iterable[Problem]:
        known = self.known_services
        if known is None:
            return
        for name in self.services:
            if name not in known:
                listed = ", ".join(sorted(known))
                yield Problem(("services", name), f"unknown service '{name}' (services: {listed})")


@dataclass(frozen=True)
class FuzzSettings:
    """The resolved settings: the file's content, its location and absolute paths."""

    root: Path
    spec: FuzzFile
    baseline: Path
    source: Path | None = None

    def service(self, name: str) -> ServiceSpec:
        return self.spec.services.get(name, ServiceSpec())

    def checks_for(self, service: str) -> list[str]:
        """Checks enabled for a service (operations may exclude some of them further)."""
        spec = self.service(service)
        chosen = dict.fromkeys([*DEFAULT_CHECKS, *self.spec.checks, *spec.checks])
        excluded = {*self.spec.exclude_checks, *spec.exclude_checks}
        return [name for name in chosen if name not in excluded]

    def excluded_checks(self, service: str, operation: str) -> dict[str, str]:
        """Check -> reason, for everything excluded at one operation (all levels)."""
        spec = self.service(service)
        op = spec.operations.get(operation, OperationSpec())
        excluded: dict[str, str] = {}
        for level in (self.spec.exclude_checks, spec.exclude_checks, op.exclude_checks):
            excluded.update((str(check), reason) for check, reason in level.items())
        return excluded

    def env_overrides(self) -> dict[str, dict[str, str]]:
        return {
            name: {key: str(value) for key, value in spec.env.items()}
            for name, spec in self.spec.services.items()
            if spec.env
        }


def load_settings(
    root: Path,
    *,
    path: Path | None = None,
    services: Iterable[str] | None = None,
    required: bool | None = None,
) -> FuzzSettings:
    """The fuzz settings of the project at ``root``; a bad file raises file:line: field: why.

    ``path`` is where the file is (the configuration's ``fuzz.settings``; default
    ``scenarios/fuzz/fuzz.yaml``); a missing file gives the defaults unless ``required``
    (default: whether ``path`` was given). ``services`` (the manifest's) lets unknown
    service names in the file be reported with their line.
    """
    explicit = path is not None if required is None else required
    path = path or root / DEFAULT_FILE
    if not path.is_file():
        if explicit:
            raise FuzzFileError([SpecIssue(str(path), 0, "", "file not found")])
        return FuzzSettings(
            root=root, spec=FuzzFile(version=1), baseline=path.parent / "baseline.json"
        )
    model: type[FuzzFile] = FuzzFile
    if services is not None:
        model = type("FuzzFile", (FuzzFile,), {"known_services": frozenset(services)})
    spec = load_model(path, model, error=FuzzFileError)
    return FuzzSettings(
        root=root, spec=spec, baseline=(path.parent / spec.baseline).resolve(), source=path
    )
