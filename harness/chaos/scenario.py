"""Chaos scenarios: the YAML schema (pydantic) and its whole-document checks.

A scenario says what "steady" means (SLOs over the running load, HTTP probes, named
invariants, and when each is checked), which load runs underneath (a load profile with
overrides, or none), the method (timed faults on edges and processes), when to give up
(abort conditions) and that rollbacks always run. ``load_scenario(path)`` validates it and
reports every fault as ``file:line: field: why`` before anything starts; the checks that
need the fleet (edge and service names) are :func:`fleet_problems`, run by the runner
before it boots anything.

The JSON Schema in ``scenarios/chaos/scenario.schema.json`` is generated from these models
(``python -m harness.chaos.schema``); a test fails when it is stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from harness.chaos.errors import ScenarioError
from harness.errors import SpecIssue
from harness.faults.toxics import TOXIC_TYPES, parse_toxic
from harness.load.durations import Duration
from harness.yamlsource import Problem, file_beside, format_loc, line_index, load_model

__all__ = [
    "ALL_PHASES",
    "CONTAINER_ACTIONS",
    "UPPER_BOUNDED",
    "Abort",
    "AbortWhen",
    "Action",
    "After",
    "Before",
    "Burst",
    "CheckPlan",
    "ContainerAction",
    "During",
    "FaultSpec",
    "HttpRequest",
    "LoadSpec",
    "Method",
    "Metric",
    "Name",
    "Phase",
    "Probe",
    "ProcessAction",
    "Scenario",
    "SetupRequest",
    "Slo",
    "SteadyState",
    "fleet_problems",
    "invariant_problems",
    "load_scenario",
    "located",
]

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
Phase = Literal["before", "during", "after"]
Metric = Literal["p50_ms", "p95_ms", "p99_ms", "max_ms", "error_rate", "rps", "requests"]
ALL_PHASES: tuple[Phase, ...] = ("before", "during", "after")
ProcessAction = Literal["kill", "stop", "pause", "restart", "start"]
# On a service's container (the docker fleet backend): docker stop (revert: start, awaited
# ready), docker pause (revert: unpause), off the fleet's network (revert: back on, ready).
ContainerAction = Literal["stop", "pause", "disconnect"]
CONTAINER_ACTIONS = ("stop", "pause", "disconnect")
# Metrics that must stay under `max` (the rest, throughput, must stay above `min`).
UPPER_BOUNDED = {"p50_ms", "p95_ms", "p99_ms", "max_ms", "error_rate"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- the load underneath --------------------------------------------------------------------


class LoadSpec(_Strict):
    """A load profile run under the game-day, with overrides. Its thresholds and baseline
    comparison are dropped: the scenario's SLOs are the hypothesis."""

    profile: str = Field(description="a load profile file, relative to this scenario")
    users: int | None = Field(
        default=None, ge=1, le=10_000, description="one stage of this many users"
    )
    spawn_rate: float | None = Field(default=None, gt=0)
    warmup: Duration | None = Field(default=None, description="excluded from the statistics")
    workers: int | None = Field(default=None, ge=0, le=32)

    @field_validator("profile")
    @classmethod
    def _exists(cls, value: str) -> str:
        return file_beside(value, "load profile")


# --- the steady-state hypothesis ------------------------------------------------------------


class Slo(_Strict):
    """A tolerance on the running load, per endpoint (a task name; "*" is every request)."""

    metric: Metric
    endpoint: str = Field(default="*", description='a task name of the load, or "*"')
    max: float | None = Field(default=None, ge=0)
    min: float | None = Field(default=None, ge=0)
    when: list[Phase] = Field(default_factory=lambda: list(ALL_PHASES))

    @model_validator(mode="after")
    def _bound(self) -> Slo:
        if self.metric in UPPER_BOUNDED and (self.max is None or self.min is not None):
            raise ValueError(f"{self.metric} takes max (an upper bound)")
        if self.metric not in UPPER_BOUNDED and (self.min is None or self.max is not None):
            raise ValueError(f"{self.metric} takes min (a lower bound)")
        return self

    @property
    def label(self) -> str:
        bound = f"<= {self.max:g}" if self.max is not None else f">= {self.min:g}"
        return f"{self.metric}{{{self.endpoint}}} {bound}"


class HttpRequest(_Strict):
    service: Name = Field(description="a service of the fleet (its own URL, not via a proxy)")
    method: Method = "GET"
    path: str = Field(pattern=r"^/", description="templates: {run_id}, {uuid}, {seq}, vars")
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    timeout: Duration = Field(default=5.0, description="the probe gives up after this")


class Probe(_Strict):
    """An HTTP probe (status, a JSON field, latency) or a named invariant of the fleet."""

    name: str | None = Field(default=None, max_length=100)
    http: HttpRequest | None = None
    expect_status: list[Annotated[int, Field(ge=100, le=599)]] | None = Field(
        default=None, description="statuses that pass (default: 200)"
    )
    expect_json: dict[str, Any] = Field(
        default_factory=dict, description="dotted path -> the value it must hold"
    )
    expect_headers: dict[str, str] = Field(
        default_factory=dict, description="header -> a regular expression its value must match"
    )
    max_latency_ms: float | None = Field(default=None, gt=0)
    remember: dict[Name, str] = Field(
        default_factory=dict,
        description="kind -> dotted path in the JSON answer: ids the invariants then check",
    )
    invariant: Name | None = None
    when: list[Phase] = Field(default_factory=lambda: list(ALL_PHASES))

    @model_validator(mode="before")
    @classmethod
    def _status_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("expect_status"), int):
            return {**data, "expect_status": [data["expect_status"]]}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Probe:
        if (self.http is None) == (self.invariant is None):
            raise ValueError("give either http or invariant")
        if self.invariant is not None and (
            self.expect_status
            or self.expect_json
            or self.expect_headers
            or self.max_latency_ms
            or self.remember
        ):
            raise ValueError("expect_*, max_latency_ms and remember apply to http probes only")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.invariant is not None:
            return f"invariant {self.invariant}"
        assert self.http is not None
        return f"{self.http.method} {self.http.service}{self.http.path}"


class During(_Strict):
    every: Duration = Field(default=5.0, description="the period of checks during the method")


class After(_Strict):
    within: Duration = Field(default=60.0, description="the recovery bound")
    window: Duration = Field(
        default=5.0,
        description="once the probes hold again: the load window judged, and the probes "
        "checked again at its end (steady must stay steady)",
    )


class Before(_Strict):
    window: Duration = Field(default=5.0, description="the load window judged before faults")


class CheckPlan(_Strict):
    before: Before | None = Field(default_factory=Before)
    during: During | None = Field(default_factory=During)
    after: After | None = Field(default_factory=After)

    @model_validator(mode="before")
    @classmethod
    def _booleans(cls, data: Any) -> Any:
        # `before: true` / `during: false` are the short forms.
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key in ("before", "during", "after"):
            if out.get(key) is True:
                out[key] = {}
            elif out.get(key) is False:
                out[key] = None
        return out


class SteadyState(_Strict):
    slo: list[Slo] = Field(default_factory=list)
    probes: list[Probe] = Field(default_factory=list)
    check: CheckPlan = Field(default_factory=CheckPlan)


class SetupRequest(HttpRequest):
    """A request made once after the fleet is up, before the load (seed probe data)."""

    expect_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(default=[200, 201])
    remember: dict[Name, str] = Field(default_factory=dict)
    save: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = Field(
        default_factory=dict,
        description="variable -> dotted path in the JSON answer, for later templates",
    )


class Burst(_Strict):
    """Requests as fast as ``concurrency`` threads can send them, for the action's duration
    (a traffic spike). Its answers become a check: never a 5xx or a connection failure, and
    every status in ``retry_after_on`` carries a Retry-After header."""

    request: HttpRequest
    concurrency: int = Field(default=8, ge=1, le=64)
    allowed_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default=[200, 429], description="statuses the burst may get"
    )
    retry_after_on: list[Annotated[int, Field(ge=100, le=599)]] = Field(default=[429, 503])
    throttled_at_least: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="the share of answers that must be 429 (a limit that never bites fails)",
    )


# --- the method -----------------------------------------------------------------------------


class FaultSpec(_Strict):
    """One fault: a toxic on an edge, an edge down, or a process action on a service."""

    edge: str | None = Field(default=None, description="caller->callee, as the fleet names it")
    toxic: str | None = Field(default=None, description=", ".join(sorted(TOXIC_TYPES)))
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0, description="per connection")
    attributes: dict[str, int] = Field(default_factory=dict)
    down: bool = Field(default=False, description="the edge's proxy disabled")
    service: Name | None = Field(default=None, description="a service or infra server")
    container: Name | None = Field(
        default=None, description="a service's container (needs the docker fleet backend)"
    )
    action: Literal[ProcessAction, ContainerAction] | None = Field(
        default=None,
        description="service: kill stop pause restart start; container: stop pause disconnect",
    )
    burst: Burst | None = Field(default=None, description="a traffic spike (needs a duration)")

    @model_validator(mode="after")
    def _one_kind(self) -> FaultSpec:
        if self.burst is not None:
            if self.edge is not None or self.service is not None or self.container is not None:
                raise ValueError("a burst takes no edge, service or container")
            return self
        if self.service is not None and self.container is not None:
            raise ValueError("give a service (a process fault) or a container, not both")
        if self.edge is not None:
            if self.service is not None or self.container is not None or self.action:
                raise ValueError("an edge fault takes no service, container or action")
            if "->" not in self.edge:
                raise ValueError(f"edge '{self.edge}': write caller->callee")
            if self.down == (self.toxic is not None):
                raise ValueError("an edge fault is either a toxic or down: true")
            if self.toxic is not None:
                parse_toxic(
                    {
                        "type": self.toxic,
                        "stream": self.stream,
                        "toxicity": self.toxicity,
                        "attributes": self.attributes,
                    },
                    strict=True,
                )
        elif self.service is not None:
            if self.action is None or self.action == "disconnect":
                raise ValueError("a process fault needs an action (kill stop pause restart start)")
            if self.toxic is not None or self.down or self.attributes:
                raise ValueError("a process fault takes no toxic, down or attributes")
        elif self.container is not None:
            if self.action not in CONTAINER_ACTIONS:
                raise ValueError("a container fault needs an action (stop pause disconnect)")
            if self.toxic is not None or self.down or self.attributes:
                raise ValueError("a container fault takes no toxic, down or attributes")
        else:
            raise ValueError(
                "give an edge (a toxic or down), a service or a container (an action), or a burst"
            )
        return self

    @property
    def label(self) -> str:
        if self.burst is not None:
            r = self.burst.request
            return f"burst {r.method} {r.service}{r.path} x{self.burst.concurrency}"
        if self.edge is not None:
            if self.down:
                return f"{self.edge} down"
            attrs = ",".join(f"{k}={v}" for k, v in self.attributes.items())
            rate = f" toxicity {self.toxicity:g}" if self.toxicity < 1 else ""
            return f"{self.toxic}({attrs}) {self.stream} on {self.edge}{rate}"
        if self.container is not None:
            return f"docker {self.action} {self.container}"
        return f"{self.action} {self.service}"


class Action(_Strict):
    name: str | None = Field(default=None, max_length=100)
    at: Duration = Field(description="when it starts, from the start of the method")
    fault: FaultSpec
    duration: Duration | None = Field(
        default=None, description="reverted after this long (none: at the rollbacks)"
    )

    @property
    def label(self) -> str:
        return self.name or self.fault.label

    @property
    def end(self) -> float:
        return self.at + (self.duration or 0.0)


# --- abort, the scenario --------------------------------------------------------------------


class AbortWhen(_Strict):
    metric: Metric
    endpoint: str = "*"
    max: float | None = Field(default=None, ge=0)
    min: float | None = Field(default=None, ge=0)
    for_windows: int = Field(default=1, ge=1, le=1000, alias="for")

    @model_validator(mode="after")
    def _bound(self) -> AbortWhen:
        if (self.max is None) == (self.min is None):
            raise ValueError("give max or min")
        return self

    @property
    def label(self) -> str:
        bound = f"> {self.max:g}" if self.max is not None else f"< {self.min:g}"
        return f"{self.metric}{{{self.endpoint}}} {bound} for {self.for_windows} windows"


class Abort(_Strict):
    max_duration: Duration = Field(default=600.0, description="the whole game-day, at most")
    when: list[AbortWhen] = Field(default_factory=list)


class Scenario(_Strict):
    version: Literal[1]
    name: Name
    description: str = ""
    seed: int | None = None
    vars: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str | int] = Field(
        default_factory=dict, description="templates for probes and setup; may use {run_id}"
    )
    invariants: str | None = Field(
        default=None,
        description="the module (dotted, from the project root) or .py file that registers "
        "the fleet's invariants, e.g. tests.fuzz.invariants",
    )
    load: LoadSpec | None = Field(default=None, description="the load underneath, or none")
    setup: list[SetupRequest] = Field(default_factory=list)
    steady_state: SteadyState
    method: list[Action] = Field(min_length=1)
    abort: Abort = Field(default_factory=Abort)
    rollbacks: Literal["always"] = Field(
        default="always",
        description="every toxic removed, every edge enabled, everything stopped started and "
        "awaited ready; after success, deviation, abort, error, Ctrl-C and SIGTERM alike",
    )

    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def method_span(self) -> float:
        return max(action.end for action in self.method)

    @property
    def needs_containers(self) -> bool:
        """Whether a fault acts on a container (the docker fleet backend only)."""
        return any(action.fault.container is not None for action in self.method)

    def problems(self) -> Iterable[Problem]:
        if self.load is None:
            for index, _slo in enumerate(self.steady_state.slo):
                yield Problem(("steady_state", "slo", index), "SLOs need a load (load:)")
            for index, _rule in enumerate(self.abort.when):
                yield Problem(("abort", "when", index), "load conditions need a load (load:)")
        if not self.steady_state.slo and not self.steady_state.probes:
            yield Problem(("steady_state",), "the hypothesis checks nothing: add slo or probes")
        labels = [probe.label for probe in self.steady_state.probes]
        for index, label in enumerate(labels):
            if labels.index(label) != index:
                yield Problem(("steady_state", "probes", index), f"probe '{label}' twice")
        for index, action in enumerate(self.method):
            fault = action.fault
            if fault.burst is not None and action.duration is None:
                yield Problem(("method", index, "duration"), "a burst needs a duration")
            if fault.action in ("restart", "start") and action.duration is not None:
                yield Problem(
                    ("method", index, "duration"),
                    f"{fault.action} is instantaneous: it takes no duration",
                )
        checks = self.steady_state.check
        if checks.during is not None and checks.during.every <= 0:
            yield Problem(("steady_state", "check", "during", "every"), "must be above 0s")
        if self.method_span >= self.abort.max_duration:
            yield Problem(
                ("abort", "max_duration"),
                f"the method alone lasts {self.method_span:g}s: raise max_duration",
            )


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario; :class:`ScenarioError` lists every fault with its line."""
    source = Path(path)
    scenario = load_model(source, Scenario, error=ScenarioError)
    scenario._path = source.resolve()
    return scenario


def fleet_problems(
    scenario: Scenario,
    services: Iterable[str],
    edges: Iterable[str],
    infra: Iterable[str],
    containers: bool | None = None,
) -> list[SpecIssue]:
    """Names the fleet does not have: found before anything starts (exit 2).

    ``containers``: whether the services run as containers (False: a container fault is a
    problem; None: not known yet, not checked)."""
    known_services = set(services)
    known_edges = set(edges)
    processes = known_services | set(infra)
    file = str(scenario.path or scenario.name)
    found: list[Problem] = []
    for index, action in enumerate(scenario.method):
        fault = action.fault
        if fault.edge is not None and fault.edge not in known_edges:
            found.append(
                Problem(
                    ("method", index, "fault", "edge"),
                    f"no edge '{fault.edge}' (edges: {', '.join(sorted(known_edges))})",
                )
            )
        if fault.service is not None and fault.service not in processes:
            found.append(
                Problem(
                    ("method", index, "fault", "service"),
                    f"no service '{fault.service}' (services and infra: "
                    f"{', '.join(sorted(processes))})",
                )
            )
        if fault.container is not None:
            where = ("method", index, "fault", "container")
            if fault.container not in known_services:
                known = ", ".join(sorted(known_services))
                found.append(Problem(where, f"no service '{fault.container}' (services: {known})"))
            elif containers is False:
                found.append(
                    Problem(
                        where,
                        "container faults need the services as containers "
                        "(fleet_backend = docker, --fleet-backend docker)",
                    )
                )
    for index, probe in enumerate(scenario.steady_state.probes):
        if probe.http is not None and probe.http.service not in known_services:
            found.append(
                Problem(
                    ("steady_state", "probes", index, "http", "service"),
                    f"no service '{probe.http.service}'",
                )
            )
    for index, action in enumerate(scenario.method):
        burst = action.fault.burst
        if burst is not None and burst.request.service not in known_services:
            found.append(
                Problem(
                    ("method", index, "fault", "burst", "request", "service"),
                    f"no service '{burst.request.service}'",
                )
            )
    for index, request in enumerate(scenario.setup):
        if request.service not in known_services:
            found.append(Problem(("setup", index, "service"), f"no service '{request.service}'"))
    return located(file, found)


def invariant_problems(
    scenario: Scenario, registered: Iterable[str], eventual: Iterable[str] = ()
) -> list[SpecIssue]:
    """Unknown invariants, and eventual ones checked before or during the fault: one holds
    only once the fleet is quiet, so with load running (or a probe's order in flight) it
    would fail by timing, not by a defect."""
    names = set(registered)
    quiet_only = set(eventual)
    file = str(scenario.path or scenario.name)
    found: list[Problem] = []
    for index, probe in enumerate(scenario.steady_state.probes):
        if probe.invariant is None:
            continue
        if probe.invariant not in names:
            found.append(
                Problem(
                    ("steady_state", "probes", index, "invariant"),
                    f"no invariant '{probe.invariant}' "
                    f"(registered: {', '.join(sorted(names)) or 'none'})",
                )
            )
        elif probe.invariant in quiet_only and set(probe.when) - {"after"}:
            found.append(
                Problem(
                    ("steady_state", "probes", index, "when"),
                    f"invariant '{probe.invariant}' holds only once the fleet is quiet "
                    "(registered eventual): check it `when: [after]`",
                )
            )
    return located(file, found)


def located(file: str, problems: list[Problem]) -> list[SpecIssue]:
    """Issues with their lines, found by reading the file's YAML again (checks that need
    the fleet or the registry run after the file itself was validated)."""
    index = line_index(Path(file)) if Path(file).is_file() else None
    return [
        SpecIssue(file, index.line(p.loc) if index else 0, format_loc(p.loc), p.message)
        for p in problems
    ]
