"""The manifest's ``smoke:`` section: the request a fleet declares for `harness fleet smoke`.

The harness knows no fleet's API: a fleet says what one representative request is. ::

    smoke:
      headers: {Authorization: "Bearer {token}"}     # on every request once {token} is known
      setup:                                          # once, before measuring
        - {method: POST, service: api, path: /login, json: {user: smoke},
           save: {token: access_token}}
      request:                                        # measured: clean, faulted, clean
        method: POST
        service: api
        path: /jobs
        json: {name: "job-{run_id}"}
        expect: 202
        save: {job: id}
      poll:                                           # optional: until a field has a value
        service: worker
        path: /jobs/{job}
        until: state
        equals: done
        fail_if: {state: [failed]}
      fault: {edge: worker->store, latency_ms: 300}
      samples: 5

Strings may hold ``{name}``: a value an earlier step saved (``save: {var: dotted.field}``
of its JSON answer), ``{run_id}`` (one per smoke run) or ``{uuid}`` (a fresh one each time
it is rendered). A string that is exactly one placeholder takes the value's own type.
Every service, edge and placeholder is checked against the manifest before anything
starts (``file:line: field: why``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.yamlsource import Loc, Problem

__all__ = ["BUILTINS", "SmokeFault", "SmokePoll", "SmokeRequest", "SmokeSpec", "smoke_problems"]

TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
BUILTINS = frozenset({"run_id", "uuid"})
_Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$", max_length=64)]
_Var = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
_Status = Annotated[int, Field(ge=100, le=599)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SmokeRequest(_Strict):
    """One HTTP request to a service of the fleet (its own address, not through a proxy)."""

    method: str = "GET"
    # The service whose base URL the path is appended to; may be left out in a fleet of one.
    service: _Name | None = None
    path: Annotated[str, Field(pattern=r"^/")] = "/"
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(default=None, alias="json")
    expect: list[_Status] = Field(default_factory=lambda: [200])
    # Variables for later steps: name -> dotted field of this request's JSON answer.
    save: dict[_Var, str] = Field(default_factory=dict)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}:
            raise ValueError(f"unknown HTTP method {value!r}")
        return upper

    @field_validator("expect", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, int) else value


class SmokePoll(SmokeRequest):
    """Asked again until the JSON field ``until`` has a value (``equals``, if given)."""

    until: str
    equals: Any = None
    # field -> values that mean the flow failed for good (stop polling, report it).
    fail_if: dict[str, list[Any]] = Field(default_factory=dict)
    timeout: float = Field(default=20.0, gt=0, le=600)
    interval: float = Field(default=0.05, gt=0, le=10)


class SmokeFault(_Strict):
    """The latency put on one edge while the request is measured."""

    edge: str
    latency_ms: int = Field(default=300, ge=1, le=60_000)


class SmokeSpec(_Strict):
    headers: dict[str, str] = Field(default_factory=dict)
    setup: list[SmokeRequest] = Field(default_factory=list)
    request: SmokeRequest
    poll: SmokePoll | None = None
    fault: SmokeFault | None = None
    samples: int = Field(default=5, ge=1, le=1000)


def placeholders(value: Any) -> Iterable[str]:
    """Every ``{name}`` in a value (strings, and inside lists and mappings)."""
    if isinstance(value, str):
        yield from TEMPLATE.findall(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from placeholders(item)
    elif isinstance(value, list):
        for item in value:
            yield from placeholders(item)


def smoke_problems(
    spec: SmokeSpec, services: Iterable[str], edges: Iterable[str]
) -> Iterable[Problem]:
    """Names the smoke section uses that the manifest does not have."""
    known = sorted(services)
    edge_names = sorted(edges)
    at: Loc = ("smoke",)
    if spec.fault is not None and spec.fault.edge not in edge_names:
        yield Problem(
            (*at, "fault", "edge"),
            f"unknown edge '{spec.fault.edge}' (edges: {', '.join(edge_names) or 'none'})",
        )
    saved: set[str] = set(BUILTINS)
    steps: list[tuple[Loc, SmokeRequest]] = [
        ((*at, "setup", index), step) for index, step in enumerate(spec.setup)
    ]
    steps.append(((*at, "request"), spec.request))
    if spec.poll is not None:
        steps.append(((*at, "poll"), spec.poll))
    for loc, step in steps:
        if step.service is None and len(known) != 1:
            yield Problem(loc, f"name the service to ask (services: {', '.join(known)})")
        elif step.service is not None and step.service not in known:
            yield Problem(
                (*loc, "service"),
                f"unknown service '{step.service}' (services: {', '.join(known)})",
            )
        used = [
            ((*loc, "path"), step.path),
            ((*loc, "headers"), step.headers),
            ((*loc, "json"), step.body),
        ]
        for where, value in used:
            for name in placeholders(value):
                if name not in saved:
                    yield Problem(
                        where,
                        f"{{{name}}}: no earlier step saves '{name}' "
                        f"(known: {', '.join(sorted(saved))})",
                    )
        saved |= set(step.save)
    # A shared header is sent from the first step that knows all its placeholders on (a
    # token saved by a setup step), so it only needs them saved somewhere.
    for name in placeholders(spec.headers):
        if name not in saved:
            yield Problem((*at, "headers"), f"{{{name}}}: no step saves '{name}'")
