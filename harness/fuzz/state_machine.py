"""Machinery for stateful models of a fleet: Hypothesis rule-based state machines over HTTP.

A fleet's tests subclass :class:`FleetStateMachine` and write rules (place an order,
replay it, cancel it...) against a :class:`FleetClient`; the base class gives them:

- a fresh fleet per example: every service's ``POST /_test/reset`` test hook is called
  before the first step (server state would otherwise leak from one example into the
  next and break shrinking);
- no 5xx, ever: any 5xx answer fails the step, with a curl line;
- the registered invariants (:mod:`harness.invariants`) checked after every step,
  through the services' public read APIs, over the ids the rules :meth:`remember`;
- :func:`run_machine`: seeded (the run's seed, printed), derandomized in CI, with
  explicit example and step counts; a failure is shrunk to a minimal step sequence
  and raised as :class:`MachineFailed` carrying that sequence.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test, invariant

from harness.fuzz.errors import FuzzError
from harness.fuzz.seeds import Seed
from harness.httpbody import describe_body
from harness.invariants import InvariantContext, InvariantRegistry
from harness.invariants import registry as default_registry

T = TypeVar("T")
M = TypeVar("M", bound="FleetStateMachine")

RESET_PATH = "/_test/reset"


class ServerError(AssertionError):
    """A service answered 5xx: always a failure of the fleet under test."""


class NotSettled(AssertionError):
    """A condition the fleet promises to reach (a saga's end) did not hold in time."""


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    path: str
    status: int
    seconds: float


def curl_line(method: str, url: str, headers: Mapping[str, str], body: Any) -> str:
    parts = ["curl", "-X", method]
    for name, value in headers.items():
        shown = "Bearer $HARNESS_TOKEN" if name.lower() == "authorization" else value
        parts += ["-H", f"{name}: {shown}"]
    if body is not None:
        parts += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    parts.append(url)
    # Double quotes, so the shell expands the token variable.
    return shlex.join(parts).replace(
        "'Authorization: Bearer $HARNESS_TOKEN'", '"Authorization: Bearer $HARNESS_TOKEN"'
    )


class FleetClient:
    """HTTP to the fleet's services by name; bearer tokens added; 5xx fails the step.

    Thread-safe (one ``httpx.Client``), so rules can fire requests concurrently with
    :meth:`concurrently`.
    """

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        tokens: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.urls = dict(urls)
        self.tokens = dict(tokens or {})
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=timeout, trust_env=False)
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def url(self, service: str) -> str:
        try:
            return self.urls[service]
        except KeyError:
            known = ", ".join(sorted(self.urls))
            raise FuzzError(f"unknown service '{service}' (services: {known})") from None

    def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        allow_5xx: bool = False,
    ) -> httpx.Response:
        sent = dict(headers or {})
        token = self.tokens.get(service)
        if token is not None and not any(k.lower() == "authorization" for k in sent):
            sent["Authorization"] = f"Bearer {token}"
        url = self.url(service) + path
        began = time.perf_counter()
        response = self.http.request(method, url, json=json_body, headers=sent, params=params)
        with self._lock:
            self.calls.append(
                Call(service, method, path, response.status_code, time.perf_counter() - began)
            )
        if response.status_code >= 500 and not allow_5xx:
            target = str(response.request.url)
            raise ServerError(
                f"{method} {service} {path} answered {response.status_code}: "
                f"{describe_body(response, limit=500)}\nReproduce with:\n    "
                + curl_line(method, target, sent, json_body)
            )
        return response

    def get(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(service, "GET", path, **kwargs)

    def post(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(service, "POST", path, **kwargs)

    def put(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(service, "PUT", path, **kwargs)

    def delete(self, service: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(service, "DELETE", path, **kwargs)

    def concurrently(self, *calls: Callable[[], T]) -> list[T]:
        """Run the calls at the same time (threads); results in order, first error raised."""
        barrier = threading.Barrier(len(calls))

        def start_together(call: Callable[[], T]) -> T:
            # Released together, so the requests really race (not one after the other).
            barrier.wait(timeout=10)
            return call()

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = [pool.submit(start_together, call) for call in calls]
        return [future.result() for future in futures]

    def close(self) -> None:
        if self._own_http:
            self.http.close()


def eventually(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.01,
) -> T:
    """Poll ``check`` until it returns something other than None/False; else NotSettled."""
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            raise NotSettled(f"{what}: not within {timeout:g} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


@dataclass
class FleetBinding:
    """What a machine runs against: service URLs, tokens, which services to reset, invariants."""

    urls: Mapping[str, str]
    tokens: Mapping[str, str] = field(default_factory=dict)
    reset: Sequence[str] = ()  # services whose POST /_test/reset starts each example
    registry: InvariantRegistry = field(default_factory=lambda: default_registry)
    invariants: Sequence[str] | None = None  # names to check; None: every registered one
    timeout: float = 10.0
    runs: int = 0  # examples started (including the shrinker's)
    invariant_checks: int = 0  # once before the first step of each example, then per step

    def reset_fleet(self, http: httpx.Client) -> None:
        for service in self.reset:
            url = self.urls[service] + RESET_PATH
            response = http.post(url)
            if response.status_code in (404, 405):
                raise FuzzError(
                    f"service {service} has no POST {RESET_PATH}: start it with its test hooks "
                    "enabled, or leave it out of `reset`"
                )
            response.raise_for_status()


class FleetStateMachine(RuleBasedStateMachine):
    """Base of a fleet model; bind it to a fleet with :func:`bind` (or :func:`run_machine`)."""

    binding: ClassVar[FleetBinding | None] = None

    def __init__(self) -> None:
        super().__init__()
        binding = type(self).binding
        if binding is None:
            raise FuzzError(f"{type(self).__name__} is not bound to a fleet: use bind()")
        self.fleet = binding
        binding.runs += 1
        self.client = FleetClient(binding.urls, tokens=binding.tokens, timeout=binding.timeout)
        self.facts = InvariantContext(binding.urls, http=self.client.http)
        binding.reset_fleet(self.client.http)

    def remember(self, kind: str, *ids: str) -> None:
        """Make ids known to the invariants (they check what the model created)."""
        self.facts.remember(kind, *ids)

    @invariant()
    def registered_invariants_hold(self) -> None:
        self.fleet.invariant_checks += 1
        self.fleet.registry.assert_all(self.facts, self.fleet.invariants)

    def teardown(self) -> None:
        self.client.close()


def bind(machine: type[M], binding: FleetBinding) -> type[M]:
    """A subclass of ``machine`` that runs against ``binding`` (Hypothesis builds it bare)."""
    return type(
        machine.__name__, (machine,), {"binding": binding, "__module__": machine.__module__}
    )


@dataclass(frozen=True)
class MachineReport:
    machine: str
    seed: int
    runs: int
    invariant_checks: int
    seconds: float


class MachineFailed(AssertionError):
    """A state machine found a failure; ``steps`` is the shrunk sequence that shows it."""

    def __init__(self, machine: str, seed: Seed, error: BaseException, steps: list[str]) -> None:
        self.machine = machine
        self.seed = seed
        self.error = error
        self.steps = steps
        sequence = "\n".join(f"    {line}" for line in steps) or "    (no steps were reported)"
        super().__init__(
            f"{machine} failed ({seed.describe()}):\n{_describe(error)}\n"
            f"Minimal failing sequence (shrunk):\n{sequence}"
        )


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, AssertionError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def machine_settings(seed: Seed, *, max_examples: int, steps: int) -> settings:
    return settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        # Network calls: Hypothesis' 200 ms deadline would flag a slow saga as flaky.
        deadline=None,
        # The seed alone decides the run (no replay of an example database).
        database=None,
        derandomize=seed.derandomize,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
        print_blob=False,
    )


def run_machine(
    machine: type[FleetStateMachine],
    binding: FleetBinding,
    *,
    seed: Seed,
    max_examples: int,
    steps: int,
) -> MachineReport:
    """Run ``machine`` against the fleet; raise :class:`MachineFailed` with the shrunk steps."""
    # hypothesis.seed on the class: get_state_machine_test copies it onto the test.
    bound = hypothesis_seed(seed.value)(bind(machine, binding))
    test = get_state_machine_test(
        bound, settings=machine_settings(seed, max_examples=max_examples, steps=steps)
    )
    binding.runs = binding.invariant_checks = 0
    reported: list[object] = []
    began = time.perf_counter()
    try:
        with with_reporter(reported.append):
            test()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        # Hypothesis attaches the minimal sequence to the error as notes (older versions
        # reported it instead): take it from wherever it is.
        notes = [str(note) for note in getattr(exc, "__notes__", [])]
        raise MachineFailed(machine.__name__, seed, exc, _steps([*reported, *notes])) from exc
    return MachineReport(
        machine.__name__,
        seed.value,
        binding.runs,
        binding.invariant_checks,
        time.perf_counter() - began,
    )


_STEP = re.compile(r"^(?:[\w, ]+ = )?state[.( =]")
# Our base invariant runs after every step anyway: its lines would double the sequence.
_BASE_INVARIANT = "state.registered_invariants_hold()"


def _steps(reported: Iterable[object]) -> list[str]:
    """The step lines (``state = M()``, ``orders_0 = state.place(...)``...) of the report."""
    lines: list[str] = []
    for chunk in reported:
        lines.extend(line.strip() for line in str(chunk).splitlines() if line.strip())
    steps = [line for line in lines if _STEP.match(line) and line != _BASE_INVARIANT]
    return steps or lines
