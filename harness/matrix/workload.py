"""Workloads and their oracle: what runs under each cell, and which of its checks passed.

A workload is anything with ``run(label, only=None, on_fleet=None) -> WorkloadRun``: a run of
named checks (a functional test, a probe), each passed or failed with its evidence. The
matrix runs it once clean and once per cell; a check that passed clean and fails under a
cell is a finding. Two kinds: the fleet's own functional tests (``pytest --fault-matrix``;
the adapter in ``harness/pytest/matrix.py`` runs the selected items) and a probe workload
file (the CLI's ``--workload``): setup requests, then HTTP probes with their expectations at
the public entry (statuses, JSON, headers: an error budget per request) and the fleet's
named invariants, ``rounds`` times.

A probe workload file (``version: 1``)::

    invariants: tests.fuzz.invariants      # the module registering the fleet's invariants
    rounds: 2
    pace: 5          # at most 5 requests a second (keep under the entry's rate limit)
    retry_after: 10s # a 429's Retry-After is waited out up to this per request (0s: never)
    setup:
      - {service: gateway, method: POST, path: /auth/token, json: {...},
         save: {token: access_token}}
    checks:
      - name: stock readable
        http: {service: gateway, path: /api/stock/sku-1, headers: {Authorization: "Bearer {token}"}}
        expect_status: 200
      - {invariant: money_conserved}
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from harness.chaos.checks import ProbeRunner
from harness.chaos.scenario import Probe, SetupRequest, located
from harness.errors import SpecIssue
from harness.fleet.lifecycle import Fleet
from harness.invariants import InvariantContext, InvariantRegistry, load_invariants
from harness.invariants import registry as default_registry
from harness.load import templates
from harness.load.durations import Duration
from harness.matrix.errors import MatrixError, WorkloadError
from harness.pacing import Pacer
from harness.yamlsource import Problem, load_model

__all__ = [
    "CLEAN_RUN",
    "CheckOutcome",
    "OnFleet",
    "ProbeWorkload",
    "ProbeWorkloadSpec",
    "Workload",
    "WorkloadRun",
    "load_workload",
]

OnFleet = Callable[[Fleet], None]
CLEAN_RUN = "clean"  # the label of the run without a fault


@dataclass(frozen=True)
class CheckOutcome:
    """One check of one run: a test id or a probe's label."""

    id: str
    passed: bool
    message: str = ""  # the assertion, or what the probe saw
    seconds: float = 0.0
    request_ids: tuple[str, ...] = ()  # to follow in the services' logs

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "passed": self.passed,
            "message": self.message,
            "seconds": round(self.seconds, 3),
            "request_ids": list(self.request_ids),
        }


@dataclass
class WorkloadRun:
    label: str
    checks: dict[str, CheckOutcome] = field(default_factory=dict)
    seconds: float = 0.0
    throttled: int = 0  # 429s whose Retry-After was waited out (the entry's rate limit)

    @property
    def passed(self) -> list[str]:
        return [k for k, v in self.checks.items() if v.passed]

    def failed_of(self, wanted: Collection[str]) -> list[CheckOutcome]:
        """The checks of ``wanted`` that did not pass (missing counts as failed)."""
        found = []
        for key in wanted:
            outcome = self.checks.get(key)
            if outcome is None:
                found.append(CheckOutcome(key, False, "did not run"))
            elif not outcome.passed:
                found.append(outcome)
        return found


class Workload(Protocol):
    description: str

    @property
    def fleet(self) -> Fleet | None:
        """The fleet the workload runs against (known after its first run at the latest)."""

    def run(
        self, label: str, only: Collection[str] | None = None, on_fleet: OnFleet | None = None
    ) -> WorkloadRun:
        """Run every check (or ``only`` those ids); ``on_fleet`` is called with the fleet as
        soon as it exists, before any check runs against it."""


# --- the probe workload ---------------------------------------------------------------------


class ProbeWorkloadSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    invariants: str | None = Field(default=None, description="module registering invariants")
    rounds: int = Field(default=1, ge=1, le=100)
    pace: float | None = Field(
        default=None, gt=0, le=10_000, description="at most this many requests per second"
    )
    retry_after: Duration = Field(
        default=10.0, le=300, description="a 429's Retry-After is waited out up to this"
    )
    vars: dict[str, str | int] = Field(default_factory=dict)
    setup: list[SetupRequest] = Field(default_factory=list)
    checks: list[Probe] = Field(min_length=1)

    _path: Path | None = PrivateAttr(default=None)

    def problems(self) -> list[Problem]:
        labels = [probe.label for probe in self.checks]
        return [
            Problem(("checks", i), f"check '{label}' twice (give it a name)")
            for i, label in enumerate(labels)
            if labels.index(label) != i
        ]

    def fleet_problems(
        self, services: Collection[str], invariants: Collection[str]
    ) -> list[SpecIssue]:
        found: list[Problem] = []
        for index, probe in enumerate(self.checks):
            if probe.http is not None and probe.http.service not in services:
                found.append(
                    Problem(
                        ("checks", index, "http", "service"), f"no service '{probe.http.service}'"
                    )
                )
            if probe.invariant is not None and probe.invariant not in invariants:
                found.append(
                    Problem(
                        ("checks", index, "invariant"),
                        f"no invariant '{probe.invariant}' "
                        f"(registered: {', '.join(sorted(invariants)) or 'none'})",
                    )
                )
        for index, request in enumerate(self.setup):
            if request.service not in services:
                found.append(
                    Problem(("setup", index, "service"), f"no service '{request.service}'")
                )
        return located(str(self._path), found) if self._path is not None else []


def load_workload(
    path: str | Path,
    services: Collection[str],
    *,
    root: Path,
    registry: InvariantRegistry | None = None,
) -> ProbeWorkloadSpec:
    """Load and check a probe workload file against the fleet (WorkloadError: exit 2)."""
    source = Path(path)
    spec = load_model(source, ProbeWorkloadSpec, error=WorkloadError)
    spec._path = source.resolve()
    chosen = registry or default_registry
    if spec.invariants is not None:
        load_invariants(spec.invariants, root=root)
    issues = spec.fleet_problems(services, chosen.names)
    if issues:
        raise WorkloadError(issues)
    return spec


class ProbeWorkload:
    """A probe workload file run against a fleet: its checks are the oracle's tests. Every
    request carries an ``X-Request-ID`` naming the run, to follow it in the logs."""

    def __init__(
        self, spec: ProbeWorkloadSpec, fleet: Fleet, registry: InvariantRegistry | None = None
    ) -> None:
        self.spec = spec
        self._fleet = fleet
        self.description = f"probe workload {spec._path.name if spec._path else ''}".strip()
        urls = {name: svc.url for name, svc in fleet.services.items()}
        variables: dict[str, Any] = {"run_id": uuid.uuid4().hex[:8]}
        variables.update({k: templates.render(v, variables) for k, v in spec.vars.items()})
        self.probes = ProbeRunner(
            urls=urls,
            registry=registry or default_registry,
            variables=variables,
            context=InvariantContext(urls),
            pacer=Pacer(spec.pace) if spec.pace is not None else None,
            retry_after_max=float(spec.retry_after),
        )
        self._set_up = False

    @property
    def fleet(self) -> Fleet | None:
        return self._fleet

    def close(self) -> None:
        self.probes.close()

    def _setup(self) -> None:
        for index, request in enumerate(self.spec.setup):
            response = self.probes.request(request)
            if response.status_code not in request.expect_status:
                raise MatrixError(
                    f"workload setup[{index}] {request.method} {request.service}{request.path} "
                    f"answered {response.status_code}: {response.text[:200]}"
                )
            self.probes.save(request.save, response)
            self.probes.remember(request.remember, response)
        self._set_up = True

    def run(
        self, label: str, only: Collection[str] | None = None, on_fleet: OnFleet | None = None
    ) -> WorkloadRun:
        if on_fleet is not None:
            on_fleet(self._fleet)
        if not self._set_up:
            self._setup()
        began = time.monotonic()
        throttled_before = self.probes.throttled
        run = WorkloadRun(label)
        tag = "".join(ch if ch.isalnum() else "-" for ch in label)[:40].strip("-")
        for round_ in range(self.spec.rounds):
            for probe in self.spec.checks:
                if only is not None and probe.label not in only:
                    continue
                request_id = f"mx-{tag}-{round_}-{uuid.uuid4().hex[:6]}"
                sent = probe
                if probe.http is not None:
                    headers = {**probe.http.headers, "X-Request-ID": request_id}
                    sent = probe.model_copy(
                        update={"http": probe.http.model_copy(update={"headers": headers})}
                    )
                t0 = time.monotonic()
                result = self.probes.run(sent, "during", 0.0)
                took = time.monotonic() - t0
                previous = run.checks.get(probe.label)
                ids = (request_id,) if probe.http is not None else ()
                if previous is not None and not previous.passed:
                    continue  # the first failure is the evidence
                seen = result.observed
                seen = f"{seen:.0f} ms" if isinstance(seen, float) else seen
                message = "" if result.ok else f"observed {seen}, expected {result.expected}"
                if result.message and not result.ok:
                    message += f": {result.message}"
                run.checks[probe.label] = CheckOutcome(
                    probe.label,
                    result.ok,
                    message,
                    took + (previous.seconds if previous else 0),
                    ids,
                )
        run.seconds = time.monotonic() - began
        run.throttled = self.probes.throttled - throttled_before
        return run
