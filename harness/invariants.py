"""Named invariants of a fleet: business rules checked through its public read APIs.

A fleet's tests register them by name; the fuzzing state machine checks them after every
step, and a chaos scenario names the same ones as steady-state probes
(``{invariant: money_conserved}``). This module is the registry only: it knows nothing of
Hypothesis, pytest or any capability, so every one of them can use it.

```python
from harness.invariants import InvariantContext, invariant, violated

@invariant("stock_conserved")
def stock_conserved(ctx: InvariantContext) -> None:
    for sku in ctx.known("skus"):
        stock = ctx.get_json("inventory", f"/stock/{sku}")
        if stock["available"] < 0:
            violated(f"{sku}: available {stock['available']} < 0")
```

An invariant passes by returning; it fails by raising :class:`InvariantViolation` (or any
``AssertionError``). Anything else it raises (a refused connection, say) is an error of the
check, reported apart from a violation.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

from harness.closing import Closing
from harness.errors import InputError
from harness.httpbody import describe_body


class InvariantViolation(AssertionError):
    """An invariant does not hold; the message says what was seen."""


class InvariantError(InputError):
    """The registry was misused: an unknown name, a name taken twice, a bad module."""


def violated(message: str) -> None:
    """Fail the invariant being checked (reads better than ``raise`` inside a loop)."""
    raise InvariantViolation(message)


class ServiceUrls(Protocol):
    """Anything that knows each service's base URL (a running ``Fleet`` does)."""

    def url(self, service: str) -> str: ...


class _UrlMap:
    def __init__(self, urls: Mapping[str, str]) -> None:
        self._urls = dict(urls)

    def url(self, service: str) -> str:
        try:
            return self._urls[service]
        except KeyError:
            known = ", ".join(sorted(self._urls)) or "none"
            raise InvariantError(f"unknown service '{service}' (services: {known})") from None


class InvariantContext(Closing):
    """What an invariant sees: the services' URLs, an HTTP client, and the known ids.

    ``known`` holds the identifiers the driver (a state machine, a load profile) created,
    by kind ("accounts", "skus", "orders"...): most fleets cannot list every entity
    through their public API, so an invariant checks the ones it is told about.
    """

    def __init__(
        self,
        fleet: ServiceUrls | Mapping[str, str],
        *,
        http: httpx.Client | None = None,
        known: Mapping[str, Iterable[str]] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.fleet: ServiceUrls = _UrlMap(fleet) if isinstance(fleet, Mapping) else fleet
        self._own_http = http is None
        # trust_env=False: checks go to loopback services, never through a machine's proxy.
        self.http = http or httpx.Client(timeout=timeout, trust_env=False)
        self._known: dict[str, set[str]] = {k: set(v) for k, v in (known or {}).items()}
        # During one pass over the invariants, a resource is read once: the checks see one
        # snapshot, and a pass over five invariants costs the reads of one.
        self._pass: dict[tuple[str, str, tuple[tuple[str, Any], ...]], Any] | None = None

    def url(self, service: str) -> str:
        return self.fleet.url(service)

    def known(self, kind: str) -> list[str]:
        """The known ids of one kind, sorted (checks run in a stable order)."""
        return sorted(self._known.get(kind, ()))

    def remember(self, kind: str, *ids: str) -> None:
        self._known.setdefault(kind, set()).update(ids)

    def forget_all(self) -> None:
        self._known.clear()

    def get(self, service: str, path: str, **params: Any) -> httpx.Response:
        return self.http.get(self.url(service) + path, params=params or None)

    def get_json(self, service: str, path: str, **params: Any) -> Any:
        """GET and decode; any status but 200 is an error of the check (not a violation)."""
        key = (service, path, tuple(sorted(params.items())))
        if self._pass is not None and key in self._pass:
            return self._pass[key]
        response = self.get(service, path, **params)
        if response.status_code != 200:
            raise InvariantError(
                f"GET {service}{path} answered {response.status_code}: {describe_body(response)}"
            )
        value = response.json()
        if self._pass is not None:
            self._pass[key] = value
        return value

    @contextmanager
    def one_pass(self) -> Iterator[None]:
        """Within the block, each ``get_json`` of the same resource is read only once."""
        outer = self._pass
        self._pass = {} if outer is None else outer
        try:
            yield
        finally:
            self._pass = outer

    def close(self) -> None:
        if self._own_http:
            self.http.close()


Check = Callable[[InvariantContext], None]
F = TypeVar("F", bound=Check)


@dataclass(frozen=True)
class InvariantResult:
    """One check of one invariant: ``ok``, else the violation or the error that stopped it."""

    name: str
    ok: bool
    message: str = ""
    error: bool = False  # True: the check could not be made (not a violation)
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.ok:
            return f"{self.name}: ok"
        kind = "could not be checked" if self.error else "violated"
        return f"{self.name}: {kind}: {self.message}"


@dataclass
class InvariantRegistry:
    """Invariants by name. :data:`registry` is the default one the decorator fills."""

    _checks: dict[str, Check] = field(default_factory=dict)
    # Names of rules that hold only once the fleet is quiet (every saga settled, every event
    # delivered): a chaos game-day checks them by name after its recovery; check_all()
    # leaves them out unless named, so a state machine never checks them mid-flight.
    _eventual: set[str] = field(default_factory=set)

    def invariant(self, name: str, *, eventual: bool = False) -> Callable[[F], F]:
        """Register the decorated function under ``name`` (unique per registry).

        ``eventual=True``: it holds only once the fleet is quiet; checked only by name.
        """
        if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise InvariantError(f"invariant name {name!r}: use letters, digits, '_', '-', '.'")

        def register(check: F) -> F:
            self.add(name, check)
            if eventual:
                self._eventual.add(name)
            return check

        return register

    @property
    def always(self) -> list[str]:
        """The invariants that hold at every instant (what check_all() checks by default)."""
        return [name for name in self.names if name not in self._eventual]

    @property
    def eventual(self) -> list[str]:
        """The invariants that hold only once the fleet is quiet (judged ``after`` a fault)."""
        return sorted(self._eventual & set(self._checks))

    def add(self, name: str, check: Check) -> None:
        present = self._checks.get(name)
        if present is not None and not _same_definition(present, check):
            raise InvariantError(
                f"invariant '{name}' is registered already (by {_where(present)}); "
                f"{_where(check)} uses the name again"
            )
        self._checks[name] = check

    def remove(self, name: str) -> None:
        self._checks.pop(name, None)
        self._eventual.discard(name)

    @property
    def names(self) -> list[str]:
        return sorted(self._checks)

    def __contains__(self, name: object) -> bool:
        return name in self._checks

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self._checks)

    def get(self, name: str) -> Check:
        try:
            return self._checks[name]
        except KeyError:
            known = ", ".join(self.names) or "none registered"
            raise InvariantError(f"unknown invariant '{name}' (invariants: {known})") from None

    def check(self, name: str, ctx: InvariantContext) -> InvariantResult:
        """Run one invariant; never raises for a violation or an error of the check."""
        check = self.get(name)
        began = time.perf_counter()
        try:
            check(ctx)
        except AssertionError as exc:
            message = str(exc) or f"{type(exc).__name__} in {_where(check)}"
            return InvariantResult(name, False, message, seconds=time.perf_counter() - began)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            return InvariantResult(
                name, False, message, error=True, seconds=time.perf_counter() - began
            )
        return InvariantResult(name, True, seconds=time.perf_counter() - began)

    def check_all(
        self, ctx: InvariantContext, names: Iterable[str] | None = None
    ) -> list[InvariantResult]:
        """Every named invariant (by default all that hold at every instant), in name order."""
        chosen = self.always if names is None else list(names)
        for name in chosen:
            self.get(name)  # an unknown name is a usage error, before anything runs
        with ctx.one_pass():
            return [self.check(name, ctx) for name in chosen]

    def assert_all(self, ctx: InvariantContext, names: Iterable[str] | None = None) -> None:
        """Raise :class:`InvariantViolation` naming every invariant that does not hold."""
        failed = [result for result in self.check_all(ctx, names) if not result.ok]
        if failed:
            raise InvariantViolation("\n".join(str(result) for result in failed))


def _where(check: Check) -> str:
    module = getattr(check, "__module__", "?")
    return f"{module}.{getattr(check, '__qualname__', repr(check))}"


def _same_definition(a: Check, b: Check) -> bool:
    # A module imported twice (by two names, or reloaded) registers its functions again:
    # the same source location is the same invariant, not a clash.
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    if a is b:
        return True
    if code_a is None or code_b is None:
        return False
    return (code_a.co_filename, code_a.co_firstlineno, getattr(a, "__qualname__", "")) == (
        code_b.co_filename,
        code_b.co_firstlineno,
        getattr(b, "__qualname__", ""),
    )


registry = InvariantRegistry()
"""The default registry: ``@invariant(...)`` adds to it, probes and state machines read it."""


def invariant(name: str, *, eventual: bool = False) -> Callable[[F], F]:
    """Register a function as the named invariant in the default :data:`registry`."""
    return registry.invariant(name, eventual=eventual)


def load_invariants(source: str, *, root: Path | None = None) -> None:
    """Import the module that registers a fleet's invariants.

    ``source`` is a dotted module name (``tests.fuzz.invariants``) or a path to a ``.py``
    file (relative to ``root``). Importing it runs its ``@invariant`` decorators.
    """
    base = root or Path.cwd()
    candidate = Path(source)
    if source.endswith(".py"):
        path = candidate if candidate.is_absolute() else base / candidate
        if not path.is_file():
            raise InvariantError(f"invariants module {path} does not exist")
        name = f"harness_invariants_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InvariantError(f"cannot import invariants from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return
    if str(base) not in sys.path:
        # Dotted names are relative to the project root, like pytest's rootdir imports.
        sys.path.insert(0, str(base))
    try:
        importlib.import_module(source)
    except ImportError as exc:
        raise InvariantError(f"cannot import invariants module '{source}': {exc}") from exc
