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


EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Algorithm = Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512"]


class SigningSpec(_Strict):
    """How the harness signs test tokens (expired, wrong audience...) with the service's key.

    The key is read from the fuzz fleet's environment of the service (the manifest's ``env``
    with fuzz.yaml's overrides): ``key_env`` names the variable holding an HS* secret,
    ``key_file_env`` the one holding the path of an RS* private key (PEM).
    """

    algorithm: Algorithm = "HS256"
    key_env: EnvName | None = None
    key_file_env: EnvName | None = None
    ttl: int = Field(default=300, ge=10)  # lifetime of the good tokens the harness signs
    # How far in the past an expired token's `exp` is: beyond any clock-skew leeway.
    expired_by: int = Field(default=3600, ge=60)
    scope_claim: str = "scope"  # space-separated scopes (OAuth's `scope`)

    def problems(self) -> Iterable[Problem]:
        if (self.key_env is None) == (self.key_file_env is None):
            yield Problem(("key_env",), "give exactly one of key_env (HS*) and key_file_env (RS*)")
        elif self.algorithm.startswith("HS") != (self.key_env is not None):
            wanted = "key_env" if self.algorithm.startswith("HS") else "key_file_env"
            yield Problem(("algorithm",), f"{self.algorithm} needs {wanted}")


class AuthSpec(_Strict):
    token: TokenSpec | None = None
    # A fixed token instead (e.g. from an environment variable the CI sets).
    bearer: str | None = None
    signing: SigningSpec | None = None
    # A public entry (a gateway): every operation must refuse a bad token, whether or not
    # its OpenAPI still declares the scheme (a route that lost its guard loses it there too),
    # except the token issuer and the operations listed in `public`.
    entry: bool = False
    public: list[OperationLabel] = Field(default_factory=list)
    # Scopes an operation needs, besides those its OpenAPI security requirement lists.
    scopes: dict[OperationLabel, list[str]] = Field(default_factory=dict)
    # Also send tokens for another audience / issuer (the service must check them).
    check_audience: bool = False
    check_issuer: bool = False


class IdempotentOperationSpec(_Strict):
    # The answer to a known key with another body (default: 409, else 422, if documented).
    conflict_status: int | None = Field(default=None, ge=400, le=499)
    # The header a replayed answer carries (default: a documented 2xx header naming "replay").
    replay_header: str | None = None
    # A read that must not change when a replay is honoured, e.g. "GET /accounts/{account_id}";
    # {name} comes from the first answer's JSON, else from the request body.
    probe: OperationLabel | None = None


class IdempotencySpec(_Strict):
    # Operations to check besides those whose OpenAPI declares the key header.
    operations: dict[OperationLabel, IdempotentOperationSpec] = Field(default_factory=dict)
    # JSON fields of this service's idempotent answers -> the invariant id kind they name,
    # e.g. {order_id: orders}: after the replays, the invariants check those resources.
    invariant_ids: dict[str, str] = Field(default_factory=dict)


class OperationSpec(_Strict):
    skip: Reason | None = None
    exclude_checks: dict[CheckName, Reason] = Field(default_factory=dict)


class ServiceSpec(_Strict):
    skip: Reason | None = None
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    auth: AuthSpec | None = None
    idempotency: IdempotencySpec = IdempotencySpec()
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


class ConformanceSpec(_Strict):
    """The harness' own checks, run per service after Schemathesis' phases (on the requests
    those answered 2xx): auth refusals, and Idempotency-Key replays."""

    auth: bool = True
    idempotency: bool = True
    # Prove a refused request reached no backend with the per-edge byte counters of the
    # fleet's Toxiproxy (needs `proxied: true`); null: whenever the fleet is proxied.
    backend_traffic: bool | None = None
    idempotency_header: str = "Idempotency-Key"


class FuzzFile(_Strict):
    version: Literal[1]
    baseline: str = "baseline.json"
    max_examples: int = Field(default=100, ge=1)
    # Every fuzz request is bounded: one that takes longer is a finding (request_bound).
    request_timeout: float = Field(default=5.0, gt=0)
    # Fuzzing injects no faults: without Toxiproxy on every edge each request takes one hop
    # less. True keeps the proxies (to fuzz under a fault applied by hand, say).
    proxied: bool = False
    stateful: StatefulSpec = StatefulSpec()
    machine: MachineSpec = MachineSpec()
    conformance: ConformanceSpec = ConformanceSpec()
    checks: list[CheckName] = Field(default_factory=list)  # added to the defaults
    exclude_checks: dict[CheckName, Reason] = Field(default_factory=dict)
    invariants: list[str] = Field(default_factory=list)
    services: dict[Name, ServiceSpec] = Field(default_factory=dict)

    # Set on a subclass by load_settings: the manifest's services, for the name check.
    known_services: ClassVar[frozenset[str] | None] = None

    def problems(self) -> Iterable[Problem]:
        if self.conformance.backend_traffic and not self.proxied:
            yield Problem(
                ("conformance", "backend_traffic"),
                "needs proxied: true (the evidence is the traffic of the fleet's proxies)",
            )
        for name, service in self.services.items():
            signing = service.auth.signing if service.auth is not None else None
            for problem in signing.problems() if signing is not None else ():
                yield Problem(("services", name, "auth", "signing", *problem.loc), problem.message)
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
