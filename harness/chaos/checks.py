"""The steady-state checks: SLOs over windows of the load's series, HTTP probes, invariants.

Each check gives a :class:`CheckResult` for one phase at one moment. SLOs are judged on
the load's per-second series (per request name), window by window; probes and invariants
are live requests to the fleet's services (their own URLs, never through a proxy: a probe
must see the service, not the fault on an edge in front of it).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.chaos.scenario import UPPER_BOUNDED, AbortWhen, HttpRequest, Probe, Slo
from harness.httpbody import describe_body
from harness.invariants import InvariantContext, InvariantRegistry
from harness.load import histogram, templates
from harness.load.series import SecondBucket, window_of
from harness.pacing import Pacer, retry_after_seconds

__all__ = [
    "MIN_REQUESTS",
    "CheckResult",
    "ProbeRunner",
    "abort_breached",
    "judge_slo",
    "metric_value",
    "upper_bounded",
    "window_metric",
]

# Fewer requests than this in a window judge nothing (a latency percentile of 2 requests
# is noise); the check says so instead of passing.
MIN_REQUESTS = 5


@dataclass(frozen=True)
class CheckResult:
    """One check in one phase. ``error``: it could not be made (not a deviation)."""

    check: str
    kind: str  # slo | probe | invariant | abort
    phase: str  # before | during | after
    at_s: float  # seconds since the method's start (negative: before it)
    ok: bool
    observed: float | str | None = None
    expected: str = ""
    message: str = ""
    error: bool = False
    window: tuple[float, float] | None = None
    # False: a timing bound was missed but only reported (chaos.timing = "report").
    enforced: bool = True

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["at_s"] = round(self.at_s, 3)
        if self.window is not None:
            data["window"] = [round(self.window[0], 3), round(self.window[1], 3)]
        return data

    def __str__(self) -> str:
        state = "ok" if self.ok else ("could not be checked" if self.error else "DEVIATED")
        if not self.enforced:
            return f"[{self.phase} @{self.at_s:+.1f}s] {self.check}: ok, {self.message}"
        seen = f" (observed {_fmt(self.observed)}, expected {self.expected})" if not self.ok else ""
        why = f": {self.message}" if self.message and not self.ok else ""
        return f"[{self.phase} @{self.at_s:+.1f}s] {self.check}: {state}{seen}{why}"


def _fmt(value: float | str | None) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- load metrics -----------------------------------------------------------------------------


def metric_value(metric: str, bucket: SecondBucket, seconds: float) -> float | None:
    """``metric`` over one window's bucket; None when the window has nothing to judge."""
    if metric == "requests":
        return float(bucket.requests)
    if metric == "rps":
        return bucket.requests / seconds if seconds > 0 else None
    if bucket.requests < MIN_REQUESTS:
        return None
    if metric == "error_rate":
        return bucket.failures / bucket.requests
    quantile = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99, "max_ms": 1.0}[metric]
    if not bucket.histogram:
        return None
    return histogram.percentile(bucket.histogram, quantile)


def window_metric(
    recorded: Mapping[str, Any], metric: str, endpoint: str, start: float, end: float
) -> tuple[float | None, int]:
    bucket = window_of(recorded, start, end, None if endpoint == "*" else endpoint)
    return metric_value(metric, bucket, end - start), bucket.requests


# Metrics whose value depends on how fast the machine is, not only on what the fleet does.
TIMING_METRICS = frozenset({"p50_ms", "p95_ms", "p99_ms", "max_ms", "rps"})
_REPORTED = "timing reported, not enforced (chaos.timing = report)"


def judge_slo(
    slo: Slo,
    recorded: Mapping[str, Any],
    phase: str,
    start: float,
    end: float,
    origin: float,
    *,
    enforce_timing: bool = True,
) -> CheckResult:
    """``slo`` over the whole seconds in [start, end) (wall clock); ``origin`` is t=0.

    Without ``enforce_timing``, a missed bound on a timing metric is reported, not failed.
    """
    value, requests = window_metric(recorded, slo.metric, slo.endpoint, start, end)
    expected = f"<= {slo.max:g}" if slo.max is not None else f">= {slo.min:g}"
    window = (start - origin, end - origin)
    common = {
        "check": slo.label,
        "kind": "slo",
        "phase": phase,
        "at_s": end - origin,
        "expected": expected,
        "window": window,
    }
    if value is None:
        return CheckResult(
            ok=False,
            error=True,
            message=f"{requests} requests in the window: too few to judge",
            **common,  # type: ignore[arg-type]
        )
    ok = value <= slo.max if slo.max is not None else value >= (slo.min or 0.0)
    if not ok and not enforce_timing and slo.metric in TIMING_METRICS:
        return CheckResult(
            ok=True,
            enforced=False,
            observed=value,
            message=f"{_REPORTED}: observed {_fmt(value)}, bound {expected}",
            **common,  # type: ignore[arg-type]
        )
    return CheckResult(ok=ok, observed=value, **common)  # type: ignore[arg-type]


def abort_breached(
    rule: AbortWhen, recorded: Mapping[str, Any], start: float, end: float
) -> float | None:
    """The observed value when ``rule`` is beyond its bound in [start, end), else None."""
    value, _ = window_metric(recorded, rule.metric, rule.endpoint, start, end)
    if value is None:
        return None
    if rule.max is not None and value > rule.max:
        return value
    if rule.min is not None and value < rule.min:
        return value
    return None


def upper_bounded(metric: str) -> bool:
    return metric in UPPER_BOUNDED


# --- probes -----------------------------------------------------------------------------------


@dataclass
class ProbeRunner:
    """Runs HTTP probes and invariants against the fleet's services."""

    urls: Mapping[str, str]
    registry: InvariantRegistry
    variables: dict[str, Any]
    context: InvariantContext
    # False: a probe slower than its max_latency_ms is reported, not failed.
    enforce_timing: bool = True
    http: httpx.Client = field(default_factory=lambda: httpx.Client(trust_env=False))
    seq: int = 0
    # A client's manners (harness/pacing.py): every request waits for its slot of the pace,
    # and a 429's Retry-After is waited out up to ``retry_after_max`` seconds per request.
    pacer: Pacer | None = None
    retry_after_max: float = 0.0
    throttled: int = 0  # 429s waited out

    def __post_init__(self) -> None:
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self.http.close()
        self.context.close()

    def request(self, request: HttpRequest) -> httpx.Response:
        """Send ``request`` (a probe's, a setup step's or a burst's), its templates filled."""
        self.seq += 1
        values = {**self.variables, "seq": self.seq}
        url = self.urls[request.service] + templates.render(request.path, values)
        body = request.json_body
        # Rendered once: a retry after a 429 resends the same request (same idempotency key).
        headers = templates.render(dict(request.headers), values)
        payload = templates.render(body, values) if body is not None else None
        waited = 0.0
        while True:
            if self.pacer is not None:
                self.pacer.wait()
            response = self.http.request(
                request.method, url, headers=headers, json=payload, timeout=request.timeout
            )
            if response.status_code != 429 or self.retry_after_max <= 0:
                return response
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None or waited + wait > self.retry_after_max:
                return response
            waited += wait
            with self._count_lock:
                self.throttled += 1
            time.sleep(wait)

    def save(self, save: Mapping[str, str], response: httpx.Response) -> None:
        """Values of the answer as variables for later templates (a token, an id)."""
        if not save:
            return
        body = response.json()
        for name, path in save.items():
            self.variables[name] = templates.extract(body, path)

    def remember(self, remember: Mapping[str, str], response: httpx.Response) -> None:
        if not remember:
            return
        try:
            body = response.json()
        except ValueError:
            return
        for kind, path in remember.items():
            try:
                self.context.remember(kind, str(templates.extract(body, path)))
            except KeyError:
                continue

    def run(self, probe: Probe, phase: str, at_s: float) -> CheckResult:
        if probe.invariant is not None:
            return self._invariant(probe, phase, at_s)
        return self._http(probe, phase, at_s)

    def _invariant(self, probe: Probe, phase: str, at_s: float) -> CheckResult:
        assert probe.invariant is not None
        with self.context.one_pass():
            result = self.registry.check(probe.invariant, self.context)
        return CheckResult(
            check=probe.label,
            kind="invariant",
            phase=phase,
            at_s=at_s,
            ok=result.ok,
            observed="holds" if result.ok else ("not checked" if result.error else "violated"),
            expected="holds",
            message=result.message,
            error=result.error,
        )

    def _http(self, probe: Probe, phase: str, at_s: float) -> CheckResult:
        request = probe.http
        assert request is not None
        statuses = probe.expect_status or [200]
        common: dict[str, Any] = {"check": probe.label, "kind": "probe", "phase": phase}
        began = time.perf_counter()
        try:
            response = self.request(request)
        except httpx.HTTPError as exc:
            took = (time.perf_counter() - began) * 1000
            return CheckResult(
                at_s=at_s,
                ok=False,
                observed=f"{type(exc).__name__} after {took:.0f} ms",
                expected=f"status {statuses}",
                message=str(exc) or type(exc).__name__,
                **common,
            )
        took_ms = (time.perf_counter() - began) * 1000
        if response.status_code not in statuses:
            return CheckResult(
                at_s=at_s,
                ok=False,
                observed=f"status {response.status_code}",
                expected=f"status {statuses}",
                message=describe_body(response),
                **common,
            )
        late = probe.max_latency_ms is not None and took_ms > probe.max_latency_ms
        if late and self.enforce_timing:
            return CheckResult(
                at_s=at_s,
                ok=False,
                observed=took_ms,
                expected=f"latency <= {probe.max_latency_ms:g} ms",
                **common,
            )
        for header, pattern in probe.expect_headers.items():
            value = response.headers.get(header)
            if value is None or re.fullmatch(pattern, value) is None:
                return CheckResult(
                    at_s=at_s,
                    ok=False,
                    observed=f"{header}: {value}",
                    expected=f"{header} matching {pattern}",
                    **common,
                )
        mismatch = _json_mismatch(response, probe.expect_json)
        if mismatch is not None:
            return CheckResult(
                at_s=at_s, ok=False, observed=mismatch[0], expected=mismatch[1], **common
            )
        self.remember(probe.remember, response)
        if late:
            return CheckResult(
                at_s=at_s,
                ok=True,
                enforced=False,
                observed=took_ms,
                expected=f"latency <= {probe.max_latency_ms:g} ms",
                message=f"{_REPORTED}: took {took_ms:.0f} ms, bound {probe.max_latency_ms:g} ms",
                **common,
            )
        return CheckResult(at_s=at_s, ok=True, observed=took_ms, expected="", **common)


def _json_mismatch(response: httpx.Response, expected: Mapping[str, Any]) -> tuple[str, str] | None:
    if not expected:
        return None
    try:
        body = response.json()
    except ValueError:
        return ("a body that is not JSON", "JSON")
    for path, want in expected.items():
        try:
            got = templates.extract(body, path)
        except KeyError:
            return (f"{path} missing", f"{path} == {want!r}")
        if got != want:
            return (f"{path} == {got!r}", f"{path} == {want!r}")
    return None
