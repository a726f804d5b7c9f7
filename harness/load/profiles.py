"""Load profiles: the YAML schema (pydantic) and its whole-document checks.

A profile names a target (a fleet service or a base URL), how load is applied (stages of
users, the closed model; or stages of arrival rates, the open model), what each simulated
user does (weighted declarative requests, or the user's own locustfile), and the pass/fail
criteria (k6-style thresholds, a baseline comparison). ``load_profile(path)`` validates it
and reports every fault as ``file:line: field: message`` before anything starts.

The JSON Schema in ``scenarios/load/profile.schema.json`` is generated from these models
(``python -m harness.load.schema``); a test fails when it is stale.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from harness.load import templates
from harness.load.compare import CompareSettings, parse_limit
from harness.load.durations import Duration
from harness.load.errors import LoadProfileError
from harness.load.thresholds import Threshold, parse_condition, parse_key, parse_threshold
from harness.yamlsource import Problem, file_beside, load_model

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
TaskName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^{}:,]+$")]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
Scalar = str | int | float
# The name under which a user's token request shows in the statistics.
TOKEN_REQUEST = "auth: token"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Stage(_Strict):
    """A stretch of the run: ramp to ``users`` (closed model) or to ``rate`` (open model)."""

    duration: Duration = Field(description="how long the stage lasts, e.g. 30s")
    users: int | None = Field(default=None, ge=0, le=100_000, description="users at its end")
    rate: float | None = Field(
        default=None, ge=0, le=1_000_000, description="open model: iterations per second"
    )
    spawn_rate: float | None = Field(
        default=None, gt=0, description="users started/stopped per second (default: ramp evenly)"
    )

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("a stage must last longer than 0s")
        return value


class Wait(_Strict):
    """Think time between a user's tasks (closed model); give exactly one."""

    constant: Duration | None = None
    between: tuple[Duration, Duration] | None = None
    constant_throughput: float | None = Field(
        default=None, gt=0, description="tasks per second per user (still a closed model)"
    )
    constant_pacing: Duration | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Wait:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of constant, between, constant_throughput, constant_pacing"
            )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("between: the first bound must not exceed the second")
        return self


class TokenAuth(_Strict):
    """How a user gets its bearer token, once, when it starts."""

    method: Literal["POST", "GET"] = "POST"
    # No default: the harness knows no fleet's token endpoint.
    path: str = Field(pattern=r"^/", description="the fleet's token endpoint, e.g. /auth/token")
    body: dict[str, Any] = Field(
        default_factory=lambda: {"client_id": "load-{run_id}-{user_id}"},
        description="JSON body; templates allowed. A client id per user gives each its own "
        "rate-limit bucket at a gateway that limits per client.",
    )
    field: str = Field(default="access_token", description="dotted path of the token")
    header: str = "Authorization"
    scheme: str = "Bearer"


class Request(_Strict):
    method: Method = "GET"
    path: str = Field(pattern=r"^/", description="templates allowed: /api/orders/{last_order_id}")
    auth: Literal["bearer", "none"] = Field(default="none", description="send the user's token")
    idempotency_key: bool | str = Field(
        default=False,
        description="true: a fresh uuid per request in Idempotency-Key; a string names the header",
    )
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Scalar] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    expect: list[Annotated[int, Field(ge=100, le=599)]] | None = Field(
        default=None, description="statuses that count as success (default: below 400)"
    )
    save: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = Field(
        default_factory=dict,
        description="variable -> dotted path in the JSON response, for later requests",
    )

    def templates_used(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """(location, variable) for every placeholder, for validation."""
        fields: dict[str, Any] = {
            "path": self.path,
            "headers": self.headers,
            "query": self.query,
            "json": self.json_body,
        }
        for key, value in fields.items():
            for name in sorted(templates.names(value)):
                yield (key,), name


class SetupStep(Request):
    """A request made once before the load starts (seeding data); not part of the statistics."""

    name: str | None = None


class Task(_Strict):
    name: TaskName = Field(description="the request name in statistics and threshold selectors")
    weight: int = Field(default=1, ge=1, le=10_000)
    request: Request


class ThresholdSpec(_Strict):
    threshold: str = Field(description="k6 grammar, e.g. p(95)<300 or rate<0.01")
    abort_on_fail: bool = Field(default=False, alias="abortOnFail")
    delay_abort_eval: Duration = Field(default=0.0, alias="delayAbortEval")


def _threshold_entry(value: object) -> object:
    # "p(95)<300" is short for {threshold: "p(95)<300"}: one type, so errors name no union arm.
    return {"threshold": value} if isinstance(value, str) else value


ThresholdEntry = Annotated[
    ThresholdSpec,
    BeforeValidator(_threshold_entry, json_schema_input_type=str | ThresholdSpec),
]


class Compare(_Strict):
    max_regression: dict[str, str] = Field(
        default_factory=lambda: {"p95": "+20%", "p99": "+30%", "rps": "-15%", "error_rate": "+1pp"},
        description="metric (p50 p90 p95 p99 avg max rps error_rate) -> tolerated change",
    )
    noise_floor_ms: float = Field(default=5.0, ge=0)
    noise_floor_rps: float = Field(default=1.0, ge=0)
    endpoints: bool = Field(default=True, description="judge every endpoint, not only the total")
    min_requests: int = Field(default=20, ge=0)
    baseline: str | None = Field(
        default=None,
        description="a stored report.json (relative to the profile) to compare with when the "
        "command line names none (--baseline, --load-baseline)",
    )

    @field_validator("baseline")
    @classmethod
    def _baseline_exists(cls, value: str | None) -> str | None:
        return _existing_file(value)

    def settings(self) -> CompareSettings:
        limits = {m: parse_limit(m, t) for m, t in self.max_regression.items()}
        return CompareSettings(
            limits, self.noise_floor_ms, self.noise_floor_rps, self.endpoints, self.min_requests
        )


class Expect(_Strict):
    """How the run must end, for a profile that checks a gate itself (the suites of
    ``pytest --load``): a threshold meant to fail, an abort, a regression. ``pytest --load``
    asserts it; ``harness load`` reports the run as it is (its exit code follows the
    verdict: 0 passed, 98 regression, 99 thresholds failed or aborted)."""

    verdict: Literal["passed", "thresholds failed", "aborted", "regression"] = Field(
        default="passed", description="the run's verdict"
    )
    failed: list[str] = Field(
        default_factory=list,
        description="ids of the thresholds that must fail (http_reqs: count<1); the others must "
        "pass",
    )
    aborted_by: str | None = Field(
        default=None, description="the abort_on_fail threshold that must stop the run early"
    )


class LoadProfile(_Strict):
    version: Literal[1]
    name: Name
    description: str = ""
    target: Name | None = Field(default=None, description="a service of the fleet manifest")
    base_url: str | None = Field(
        default=None, pattern=r"^https?://", description="an external system instead"
    )
    client: Literal["fast", "requests"] = Field(
        default="fast", description="fast = Locust's FastHttpUser, requests = HttpUser"
    )
    warmup: Duration = Field(default=0.0, description="excluded from statistics and thresholds")
    stages: list[Stage] = Field(min_length=1)
    spawn_rate: float | None = Field(default=None, gt=0)
    max_users: int | None = Field(
        default=None, ge=1, le=100_000, description="open model: the pool of users"
    )
    max_lag: Duration = Field(
        default=5.0, description="open model: an arrival later than this is dropped"
    )
    wait: Wait | None = None
    workers: int = Field(default=0, ge=0, le=32, description=">0: distributed mode")
    seed: int | None = None
    vars: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], Scalar] = Field(
        default_factory=dict
    )
    auth: TokenAuth | None = None
    setup: list[SetupStep] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    locustfile: str | None = Field(default=None, description="the user's own, instead of tasks")
    thresholds: dict[str, list[ThresholdEntry]] = Field(default_factory=dict)
    compare: Compare | None = None
    expect: Expect | None = Field(
        default=None, description="how the run must end (profiles that test a gate itself)"
    )

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("locustfile")
    @classmethod
    def _locustfile_exists(cls, value: str | None) -> str | None:
        return _existing_file(value)

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def open_model(self) -> bool:
        return any(stage.rate is not None for stage in self.stages)

    @property
    def duration(self) -> float:
        """The whole run, warm-up included (the stages' durations)."""
        return sum(stage.duration for stage in self.stages)

    @property
    def peak_users(self) -> int:
        if self.open_model:
            return self.max_users or 0
        return max(stage.users or 0 for stage in self.stages)

    def parsed_thresholds(self) -> list[Threshold]:
        """Every threshold; only valid on a validated profile (problems() found none)."""
        found = []
        for key, entries in self.thresholds.items():
            for spec in entries:
                found.append(
                    parse_threshold(
                        key,
                        spec.threshold,
                        abort_on_fail=spec.abort_on_fail,
                        delay_abort_eval=spec.delay_abort_eval,
                    )
                )
        return found

    def compare_settings(self) -> CompareSettings:
        return self.compare.settings() if self.compare is not None else CompareSettings()

    @property
    def stored_baseline(self) -> Path | None:
        """The baseline the profile names (``compare.baseline``), if any."""
        if self.compare is None or self.compare.baseline is None:
            return None
        return Path(self.compare.baseline)

    @property
    def expected(self) -> Expect:
        """How the run must end: as ``expect`` says, else passed."""
        return self.expect if self.expect is not None else Expect()

    def variables_known(self) -> set[str]:
        saved = {name for task in self.tasks for name in task.request.save}
        return {*templates.BUILTINS, *self.vars, *saved}

    # --- whole-document checks -----------------------------------------------------------

    def problems(self) -> Iterable[Problem]:
        yield from self._target_problems()
        yield from self._stage_problems()
        yield from self._task_problems()
        yield from self._template_problems()
        yield from self._threshold_problems()
        yield from self._compare_problems()
        yield from self._expect_problems()

    def _target_problems(self) -> Iterable[Problem]:
        if (self.target is None) == (self.base_url is None):
            yield Problem(("target",), "give either target (a fleet service) or base_url")
        if (not self.tasks) == (self.locustfile is None):
            yield Problem(("tasks",), "give either tasks or a locustfile")

    def _stage_problems(self) -> Iterable[Problem]:
        open_stages = [s.rate is not None for s in self.stages]
        for index, stage in enumerate(self.stages):
            if (stage.users is None) == (stage.rate is None):
                yield Problem(
                    ("stages", index), "give users (closed model) or rate (open model), not both"
                )
            elif open_stages[index] != open_stages[0]:
                yield Problem(("stages", index), "all stages must use users, or all must use rate")
        if all(not (stage.users or stage.rate) for stage in self.stages):
            # Zero work is not a pass: a run that sends nothing must not get to say "passed".
            yield Problem(("stages",), "no stage applies any load (every users/rate is 0)")
        if self.warmup >= self.duration:
            yield Problem(("warmup",), "the warm-up must end before the last stage does")
        if self.open_model:
            if self.max_users is None:
                yield Problem(("max_users",), "the open model (rate stages) needs max_users")
            if self.wait is not None:
                yield Problem(("wait",), "the open model paces by the arrival rate: drop wait")
            if self.locustfile is not None:
                yield Problem(
                    ("locustfile",), "the open model runs declarative tasks only, not a locustfile"
                )

    def _task_problems(self) -> Iterable[Problem]:
        seen: set[str] = set()
        for index, task in enumerate(self.tasks):
            if task.name in seen or task.name == TOKEN_REQUEST:
                yield Problem(("tasks", index, "name"), f"task name '{task.name}' is taken")
            seen.add(task.name)
            if task.request.auth == "bearer" and self.auth is None:
                yield Problem(
                    ("tasks", index, "request", "auth"), "auth: bearer needs a top-level auth"
                )
        for index, step in enumerate(self.setup):
            if step.auth == "bearer" and self.auth is None:
                yield Problem(("setup", index, "auth"), "auth: bearer needs a top-level auth")
            if step.save:
                yield Problem(("setup", index, "save"), "setup steps cannot save values")

    def _template_problems(self) -> Iterable[Problem]:
        known = self.variables_known()
        per_run = {*templates.BUILTINS, *self.vars}
        for name, value in self.vars.items():
            for missing in sorted(templates.names(value) - set(templates.BUILTINS)):
                yield Problem(("vars", name), f"unknown variable '{{{missing}}}'")
        if self.auth is not None:
            for missing in sorted(templates.names(self.auth.body) - per_run):
                yield Problem(("auth", "body"), f"unknown variable '{{{missing}}}'")
        for index, task in enumerate(self.tasks):
            for loc, name in task.request.templates_used():
                if name not in known:
                    where = ("tasks", index, "request", *loc)
                    yield Problem(where, f"unknown variable '{{{name}}}' (known: {_names(known)})")
        for index, step in enumerate(self.setup):
            for loc, name in step.templates_used():
                if name not in per_run:
                    where = ("setup", index, *loc)
                    yield Problem(
                        where, f"unknown variable '{{{name}}}' (known: {_names(per_run)})"
                    )

    def _threshold_problems(self) -> Iterable[Problem]:
        names = {task.name for task in self.tasks} | ({TOKEN_REQUEST} if self.auth else set())
        for key, entries in self.thresholds.items():
            try:
                metric, selector = parse_key(key)
            except ValueError as exc:
                yield Problem(("thresholds", key), str(exc))
                continue
            if metric == "dropped_iterations" and not self.open_model:
                yield Problem(("thresholds", key), "dropped_iterations needs the open model")
            if selector.name is not None and self.tasks and selector.name not in names:
                yield Problem(
                    ("thresholds", key),
                    f"no task named '{selector.name}' (tasks: {', '.join(sorted(names))})",
                )
            if not entries:
                yield Problem(("thresholds", key), "give at least one threshold")
            for index, entry in enumerate(entries):
                try:
                    parse_condition(entry.threshold, metric)
                except ValueError as exc:
                    yield Problem(("thresholds", key, index), str(exc))
        ids = [t.id for t in self._safe_thresholds()]
        for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
            yield Problem(("thresholds",), f"threshold given twice: {duplicate}")

    def _safe_thresholds(self) -> list[Threshold]:
        with contextlib.suppress(ValueError):
            return self.parsed_thresholds()
        return []

    def _compare_problems(self) -> Iterable[Problem]:
        if self.compare is None:
            return
        for metric, text in self.compare.max_regression.items():
            try:
                parse_limit(metric, text)
            except ValueError as exc:
                yield Problem(("compare", "max_regression", metric), str(exc))

    def _expect_problems(self) -> Iterable[Problem]:
        if self.expect is None:
            return
        expect = self.expect
        thresholds = {t.id: t for t in self._safe_thresholds()}
        for index, name in enumerate(expect.failed):
            if name not in thresholds:
                yield Problem(
                    ("expect", "failed", index),
                    f"no threshold '{name}' (thresholds: {', '.join(thresholds) or 'none'})",
                )
        if expect.aborted_by is not None:
            aborting = thresholds.get(expect.aborted_by)
            if aborting is None or not aborting.abort_on_fail:
                yield Problem(
                    ("expect", "aborted_by"),
                    f"'{expect.aborted_by}' is not a threshold with abort_on_fail",
                )
            elif expect.aborted_by not in expect.failed:
                yield Problem(("expect", "failed"), "the threshold in aborted_by must be listed")
        failing = expect.verdict in ("thresholds failed", "aborted")
        if failing != bool(expect.failed):
            yield Problem(
                ("expect", "verdict"),
                f"'{expect.verdict}' and thresholds expected to fail "
                f"({len(expect.failed)}) contradict each other",
            )
        if (expect.verdict == "aborted") != (expect.aborted_by is not None):
            yield Problem(("expect", "verdict"), "'aborted' and aborted_by go together")
        if expect.verdict == "regression" and self.stored_baseline is None:
            yield Problem(
                ("expect", "verdict"), "a regression needs a baseline: give compare.baseline"
            )


def _existing_file(value: str | None) -> str | None:
    """A path relative to the profile being validated, resolved (and checked to exist)."""
    return None if value is None else file_beside(value)


def _names(known: set[str]) -> str:
    return ", ".join(sorted(known))


def load_profile(path: str | Path) -> LoadProfile:
    """Load and validate a profile; :class:`LoadProfileError` lists every fault with its line."""
    source = Path(path)
    profile = load_model(source, LoadProfile, error=LoadProfileError)
    profile._path = source.resolve()
    return profile
