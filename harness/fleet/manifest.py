"""The fleet manifest: services, their dependencies and the infrastructure they need, as data.

A manifest is a YAML file (``version: 1``) loaded with :func:`load_manifest`. The schema is
strict (unknown fields are errors) and the whole-document checks (unknown service in an
edge, dependency cycle, missing command, duplicate fixed port, unknown infrastructure)
report the file, line and field, so a bad manifest fails before anything starts.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from harness.errors import ManifestError
from harness.fleet.container_spec import ContainersSpec
from harness.fleet.readiness import ReadinessSpec, flat_errors, parse_readiness, readiness_spec
from harness.fleet.smokespec import SmokeSpec, smoke_problems
from harness.fleet.templating import unknown_placeholders
from harness.yamlsource import Problem, file_beside, load_model

# Names become edge names ("front->prices"), proxy names and file names.
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
UrlPath = Annotated[str, Field(pattern=r"^/")]
ModuleName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")]
EnvValue = str | int | float


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_booleans(env: dict[str, object]) -> dict[str, object]:
    # YAML turns yes/true/on into booleans; services would then see "True", which few parse.
    for key, value in env.items():
        if isinstance(value, bool):
            raise ValueError(f'{key}: write booleans as quoted strings, e.g. "1" or "true"')
    return env


class InfraKind(StrEnum):
    POSTGRES = "postgres"
    REDIS = "redis"
    # A file database: no server, no proxy, no edge; the URL points into the fleet's workdir.
    SQLITE = "sqlite"


class InfraSpec(_Strict):
    kind: InfraKind


class CallSpec(_Strict):
    """A synchronous HTTP edge: the caller finds the callee's base URL in ``env``."""

    env: EnvName


class DatabaseSpec(_Strict):
    """The service's database: a database ``name`` on the server ``infra``, URL in ``env``."""

    infra: Name
    name: Name
    env: EnvName = "DATABASE_URL"


class BrokerSpec(_Strict):
    """The message broker the service publishes to or consumes from, URL in ``env``."""

    infra: Name
    env: EnvName = "BROKER_URL"


class OpenApiFile(_Strict):
    """An OpenAPI document kept in a file (for a service that does not serve its own)."""

    file: str

    @field_validator("file")
    @classmethod
    def _beside(cls, value: str) -> str:
        # Relative to the manifest's directory, checked to exist while the file validates.
        return file_beside(value, "OpenAPI file")


class ServiceSpec(_Strict):
    command: list[str] | None = None
    module: str | None = None
    # Working directory, relative to the manifest's root; the root itself by default.
    cwd: str | None = None
    port_env: EnvName = "PORT"
    host_env: EnvName = "HOST"
    port: int | None = Field(default=None, ge=1, le=65535)
    health: UrlPath = "/healthz"
    # A path (HTTP 200), or {http: path} | {tcp: true|port} | {log: regex} | {alive: s}.
    readiness: UrlPath | ReadinessSpec = "/readyz"
    # A path the service serves its document on, a file (any other string, relative to
    # the manifest, or {file: ...}), or null: no OpenAPI.
    openapi: UrlPath | OpenApiFile | None = "/openapi.json"
    ready_timeout: float = Field(default=30.0, gt=0)
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    # HTTP edges. They do not order the start: every proxy exists before any service starts,
    # so a caller may start before its callee; the fleet is ready once all of them are.
    calls: dict[Name, CallSpec] = Field(default_factory=dict)
    # Services this one needs (no edge), ready before it starts.
    depends_on: list[Name] = Field(default_factory=list)
    # Services this one needs in the fleet (no edge), but not before it starts: it copes
    # with them starting at the same time (e.g. it reads tables the other one creates).
    requires: list[Name] = Field(default_factory=list)
    database: DatabaseSpec | None = None
    broker: BrokerSpec | None = None
    # True: the service itself waits for its database and broker (it retries them at start
    # and is not ready until they answer), so it is started while they are still coming
    # up. False: it starts once they are up and its database exists.
    waits_for_infra: bool = False
    publishes: list[str] = Field(default_factory=list)
    consumes: list[str] = Field(default_factory=list)
    # The service's own image, for the docker fleet backend (see container_spec); without
    # one it runs in the fleet's `containers.image`.
    image: str | None = Field(default=None, min_length=1)

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, value: object) -> object:
        # A string is split like a shell would, so `command: uvicorn app:app` reads naturally.
        return shlex.split(value) if isinstance(value, str) else value

    @field_validator("env", mode="before")
    @classmethod
    def _check_env(cls, value: object) -> object:
        return _no_booleans(value) if isinstance(value, dict) else value

    @field_validator("openapi", mode="before")
    @classmethod
    def _openapi_file(cls, value: object) -> object:
        # Decided here, so a bad value gets one error rather than one per form.
        if isinstance(value, str) and not value.startswith("/"):
            value = {"file": value}
        if isinstance(value, dict):
            try:
                return OpenApiFile.model_validate(value)
            except ValidationError as exc:
                raise ValueError(flat_errors(exc)) from None
        return value

    @field_validator("readiness", mode="before")
    @classmethod
    def _readiness(cls, value: object) -> object:
        return parse_readiness(value)

    @property
    def ready_check(self) -> ReadinessSpec:
        """The readiness check, whichever way the manifest wrote it."""
        return readiness_spec(self.readiness)

    @property
    def openapi_path(self) -> str | None:
        """The URL path the service serves its OpenAPI document on, if it does."""
        return self.openapi if isinstance(self.openapi, str) else None

    @property
    def openapi_file(self) -> Path | None:
        """The file holding the service's OpenAPI document, if the manifest names one."""
        return Path(self.openapi.file) if isinstance(self.openapi, OpenApiFile) else None

    def argv(self, python: str = sys.executable) -> list[str]:
        """The command line; a ``module`` runs with the harness's own interpreter."""
        if self.command:
            return list(self.command)
        assert self.module is not None, "validated manifests have a command or a module"
        return [python, "-m", self.module]

    def rendered_env(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.env.items()}


class Manifest(_Strict):
    version: Literal[1]
    name: Name = "fleet"
    # The fleet's root directory, relative to the manifest file: services run from here.
    root: str = "."
    # Environment every service gets; a service's own `env` wins.
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    # False bypasses Toxiproxy: callers get their callee's address directly (for benchmarks).
    proxied: bool = True
    # Modules the zygote imports once for every `module:` service (harness.fleet.zygote).
    preload: list[ModuleName] = Field(default_factory=list)
    infra: dict[Name, InfraSpec] = Field(default_factory=dict)
    services: dict[Name, ServiceSpec] = Field(min_length=1)
    # How the services run as containers (the docker fleet backend).
    containers: ContainersSpec | None = None
    # What `harness fleet smoke` asks the fleet (harness.fleet.smokespec); without it the
    # smoke checks readiness and every edge.
    smoke: SmokeSpec | None = None

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("env", mode="before")
    @classmethod
    def _check_env(cls, value: object) -> object:
        return _no_booleans(value) if isinstance(value, dict) else value

    @property
    def path(self) -> Path | None:
        """The file this manifest was loaded from, if any."""
        return self._path

    def root_dir(self) -> Path:
        base = self._path.parent if self._path is not None else Path.cwd()
        return (base / self.root).resolve()

    def service_cwd(self, name: str) -> Path:
        cwd = self.services[name].cwd
        return (self.root_dir() / cwd).resolve() if cwd else self.root_dir()

    def fleet_env(self) -> dict[str, str]:
        return {key: str(value) for key, value in self.env.items()}

    def problems(self) -> Iterable[Problem]:
        """Whole-document checks; pydantic has already checked each field's shape."""
        yield from self._name_clashes()
        for name, svc in self.services.items():
            yield from self._service_problems(name, svc)
        yield from self._duplicate_ports()
        yield from self._cycles()
        if self.smoke is not None:
            from harness.fleet.graph import derive_edges  # graph imports this module

            edges = [edge.name for edge in derive_edges(self)]
            yield from smoke_problems(self.smoke, self.services, edges)

    def _name_clashes(self) -> Iterable[Problem]:
        # Edge names are "<from>-><to>" over both namespaces; a clash would make them ambiguous.
        for name in sorted(self.infra.keys() & self.services.keys()):
            yield Problem(("infra", name), f"'{name}' is both a service and an infra name")
        # Proxies are named "<from>__<to>" (harness.faults.toxiproxy.edge_to_proxy_name).
        for section, names in (("infra", self.infra), ("services", self.services)):
            for name in names:
                if "__" in name:
                    yield Problem((section, name), f"'{name}': names must not contain '__'")

    def _service_problems(self, name: str, svc: ServiceSpec) -> Iterable[Problem]:
        at = ("services", name)
        if svc.command is None and svc.module is None:
            if svc.image is None:  # an image has a command of its own
                yield Problem(at, "missing command: give `command` (argv) or `module` (python -m)")
        elif svc.command is not None and svc.module is not None:
            yield Problem((*at, "module"), "give either `command` or `module`, not both")
        elif svc.command is not None and not svc.command:
            yield Problem((*at, "command"), "command is empty")
        elif svc.command is not None:
            for index, why in unknown_placeholders(svc.command, svc.calls):
                yield Problem((*at, "command", index), why)
        for callee in svc.calls:
            if callee == name:
                yield Problem((*at, "calls", callee), "a service cannot call itself")
            elif callee not in self.services:
                yield Problem((*at, "calls", callee), self._unknown_service(callee))
        for field in ("depends_on", "requires"):
            for index, other in enumerate(getattr(svc, field)):
                if other not in self.services:
                    yield Problem((*at, field, index), self._unknown_service(other))
        if svc.database is not None:
            yield from self._infra_ref(
                (*at, "database", "infra"),
                svc.database.infra,
                {InfraKind.POSTGRES, InfraKind.SQLITE},
            )
        if svc.broker is not None:
            yield from self._infra_ref(
                (*at, "broker", "infra"), svc.broker.infra, {InfraKind.REDIS}
            )
        yield from self._env_clashes(name, svc)

    def _unknown_service(self, name: str) -> str:
        known = ", ".join(sorted(self.services))
        return f"unknown service '{name}' (services: {known})"

    def _infra_ref(
        self, loc: tuple[str, ...], name: str, kinds: set[InfraKind]
    ) -> Iterable[Problem]:
        spec = self.infra.get(name)
        if spec is None:
            known = ", ".join(sorted(self.infra)) or "none declared"
            yield Problem(loc, f"unknown infra '{name}' (infra: {known})")
        elif spec.kind not in kinds:
            wanted = " or ".join(sorted(k.value for k in kinds))
            yield Problem(loc, f"infra '{name}' is a {spec.kind.value}, expected {wanted}")

    def _env_clashes(self, name: str, svc: ServiceSpec) -> Iterable[Problem]:
        # Two dependencies handed in through one variable: one of them would be lost.
        seen: dict[str, str] = {svc.port_env: "the port", svc.host_env: "the host"}
        at = ("services", name)
        wired: list[tuple[tuple[str, ...], str, str]] = [
            ((*at, "calls", callee, "env"), call.env, f"the call to '{callee}'")
            for callee, call in svc.calls.items()
        ]
        if svc.database is not None:
            wired.append(((*at, "database", "env"), svc.database.env, "the database"))
        if svc.broker is not None:
            wired.append(((*at, "broker", "env"), svc.broker.env, "the broker"))
        for loc, var, what in wired:
            if var in seen:
                yield Problem(loc, f"variable {var} already carries {seen[var]}")
            seen[var] = what

    def _duplicate_ports(self) -> Iterable[Problem]:
        owners: dict[int, str] = {}
        for name, svc in self.services.items():
            if svc.port is None:
                continue
            if svc.port in owners:
                yield Problem(
                    ("services", name, "port"),
                    f"port {svc.port} is already used by service '{owners[svc.port]}'",
                )
            else:
                owners[svc.port] = name

    def _cycles(self) -> Iterable[Problem]:
        graph = service_dependencies(self)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return
        # Edges point caller -> callee; report at the first caller's reference to its callee.
        path = [str(edge[0]) for edge in cycle] + [str(cycle[0][0])]
        caller, callee = str(cycle[0][0]), str(cycle[0][1])
        svc = self.services[caller]
        field = "calls" if callee in svc.calls else "depends_on"
        if field == "depends_on" and callee not in svc.depends_on:
            field = "requires"
        loc: tuple[str | int, ...] = ("services", caller, field, callee)
        if field != "calls":
            loc = ("services", caller, field, getattr(svc, field).index(callee))
        yield Problem(loc, "dependency cycle: " + " -> ".join(path))


def service_dependencies(manifest: Manifest) -> nx.DiGraph[str]:
    """Caller -> callee over known services (HTTP calls, ``depends_on`` and ``requires``)."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(sorted(manifest.services))
    for name, svc in manifest.services.items():
        for other in [*svc.calls, *svc.depends_on, *svc.requires]:
            if other in manifest.services and other != name:
                graph.add_edge(name, other)
    return graph


def load_manifest(path: str | Path) -> Manifest:
    """Load and validate a manifest; :class:`ManifestError` lists every fault with its line."""
    manifest = load_model(path, Manifest, error=ManifestError)
    manifest._path = Path(path).resolve()
    return manifest
