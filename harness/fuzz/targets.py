"""What a fuzz run covers: every operation of every service that publishes an OpenAPI.

Nothing here is written per service: the manifest names the services and where their
OpenAPI is (``openapi: /openapi.json`` by default), the running fleet gives their URLs, and
the OpenAPI lists the operations. A *target* is one operation (examples, coverage and
fuzzing phases) or one service's stateful phase (the links Schemathesis infers).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from harness.fleet.manifest import Manifest
from harness.fleet.openapi import OpenApiUnavailable, openapi_document
from harness.fuzz.auth import bearer_schemes, obtain_bearer, token_command, token_operation
from harness.fuzz.errors import FuzzError, FuzzInputError, NothingToFuzz
from harness.fuzz.settings import FuzzSettings, TokenSpec

METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")
STATEFUL = "stateful"


class RunningFleet(Protocol):
    """What fuzzing needs of a running fleet (``harness.fleet.Fleet`` is one)."""

    manifest: Manifest

    def url(self, service: str) -> str: ...


@dataclass(frozen=True, order=True)
class FuzzTarget:
    """One unit of a fuzz run, and one pytest item: an operation, or a service's stateful phase."""

    service: str
    method: str | None = None  # None: the stateful phase over the whole service
    path: str | None = None

    @property
    def stateful(self) -> bool:
        return self.method is None

    @property
    def operation(self) -> str:
        """``GET /stock/{sku}`` (Schemathesis' label), or ``stateful``."""
        return STATEFUL if self.method is None else f"{self.method} {self.path}"

    @property
    def id(self) -> str:
        return f"{self.service} {self.operation}"


@dataclass(frozen=True)
class ServiceTarget:
    """A running service ready to fuzz: its URL, its OpenAPI and, if it needs one, a token."""

    name: str
    base_url: str
    openapi_url: str
    document: Mapping[str, Any]
    bearer: str | None = None
    # How the token was obtained, so a replay can get one the same way.
    token_path: str | None = None
    token_spec: TokenSpec | None = None

    @property
    def bearer_schemes(self) -> list[str]:
        return bearer_schemes(self.document)

    def operations(self) -> list[tuple[str, str]]:
        """(METHOD, path) of every operation, in the document's order."""
        found = []
        for path, item in self.document.get("paths", {}).items():
            if not isinstance(item, Mapping):
                continue
            for method in item:
                if method.upper() in METHODS:
                    found.append((method.upper(), str(path)))
        return found

    def token_setup(self) -> str | None:
        """The shell line that exports $HARNESS_TOKEN for replaying a failure, if needed."""
        if self.bearer is None:
            return None
        return token_command(self.base_url, self.token_spec, self.token_path)


def fuzzed_services(
    manifest: Manifest, settings: FuzzSettings, only: Collection[str] | None = None
) -> list[str]:
    """Services to fuzz, in manifest order: those with an OpenAPI and not skipped."""
    if only:
        unknown = sorted(set(only) - set(manifest.services))
        if unknown:
            known = ", ".join(sorted(manifest.services))
            raise FuzzInputError(f"unknown service(s) {', '.join(unknown)} (services: {known})")
    chosen = []
    for name, spec in manifest.services.items():
        if only and name not in only:
            continue
        if spec.openapi is None or settings.service(name).skip:
            continue
        chosen.append(name)
    return chosen


def require_services(
    manifest: Manifest, settings: FuzzSettings, only: Collection[str] | None = None
) -> list[str]:
    """:func:`fuzzed_services`, or :class:`NothingToFuzz` saying why there are none."""
    chosen = fuzzed_services(manifest, settings, only)
    if chosen:
        return chosen
    considered = [n for n in manifest.services if not only or n in only]
    no_openapi = [n for n in considered if manifest.services[n].openapi is None]
    skipped = [n for n in considered if n not in no_openapi and settings.service(n).skip]
    why = []
    if no_openapi:
        why.append(f"no OpenAPI (manifest openapi: null): {', '.join(no_openapi)}")
    if skipped:
        why.append(f"skipped in the fuzz settings: {', '.join(skipped)}")
    if not considered:
        why.append("the manifest has no service")
    raise NothingToFuzz(f"nothing to fuzz: no service to fuzz ({'; '.join(why)})")


def require_targets(
    targets: list[FuzzTarget], services: Iterable[ServiceTarget], settings: FuzzSettings
) -> list[FuzzTarget]:
    """``targets``, or :class:`NothingToFuzz` when the OpenAPI documents leave none."""
    if targets:
        return targets
    details = []
    for service in services:
        count = len(service.operations())
        skipped = sum(1 for op in settings.service(service.name).operations.values() if op.skip)
        details.append(
            f"{service.name}: {count} operation(s) in {service.openapi_url}"
            + (f", {skipped} skipped in the fuzz settings" if skipped else "")
        )
    raise NothingToFuzz(f"nothing to fuzz: no operation to fuzz ({'; '.join(details)})")


def open_service(
    fleet: RunningFleet, name: str, settings: FuzzSettings, http: httpx.Client
) -> ServiceTarget:
    """Fetch the service's OpenAPI from the running fleet and get its token, if it needs one."""
    spec = fleet.manifest.services[name]
    if spec.openapi is None:
        raise FuzzError(f"service {name} publishes no OpenAPI (manifest: openapi is null)")
    base_url = fleet.url(name)
    try:
        # Served by the service, or a file the manifest names.
        openapi_url, document = openapi_document(name, spec, base_url, http)
    except OpenApiUnavailable as exc:
        raise FuzzError(str(exc)) from exc
    auth = settings.service(name).auth
    bearer = obtain_bearer(base_url, document, auth, http)
    token_spec = auth.token if auth is not None else None
    token_path = None
    if bearer is not None and not (auth is not None and auth.bearer):
        token_path = (token_spec.path if token_spec else None) or token_operation(document)
    return ServiceTarget(name, base_url, openapi_url, document, bearer, token_path, token_spec)


def plan_targets(services: Iterable[ServiceTarget], settings: FuzzSettings) -> list[FuzzTarget]:
    """Every operation not skipped, then each service's stateful phase (when enabled and
    the service has an operation to fuzz: a phase over none would check nothing)."""
    targets = []
    for service in services:
        skipped = settings.service(service.name).operations
        operations = []
        for method, path in service.operations():
            op = skipped.get(f"{method} {path}")
            if op is not None and op.skip:
                continue
            operations.append(FuzzTarget(service.name, method, path))
        targets += operations
        if settings.spec.stateful.enabled and operations:
            targets.append(FuzzTarget(service.name))
    return targets
