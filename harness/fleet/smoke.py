"""The smoke run of any fleet: ready, every edge carries traffic, then the declared request.

Every fleet gets the first part from its manifest alone: the fleet boots with every service
ready (its own readiness check), and every edge's proxy carries traffic to a ready callee
(an HTTP edge answers the callee's readiness path, or any HTTP answer for a callee without
one; a PostgreSQL edge answers an SSLRequest; a Redis edge answers PING). A fleet that
declares a ``smoke:`` section (:mod:`harness.fleet.smokespec`) also gets its request
measured clean, with latency on the chosen edge, and clean again.

A measurement is the time from sending the request to its follow-up poll seeing the field
it waits for (the request alone when there is no poll): an API that answers 202 and works
on in the background would otherwise hide a slow edge behind it. Whether the fault was on
the way is decided by a bound no busy machine can break: every faulted measurement must
take at least the latency, since Toxiproxy delays each answer on the edge by exactly that
and load only ever adds time. (Toxiproxy's per-proxy byte counters, ``-proxy-metrics``,
cannot serve as evidence here: v2.12 adds a connection's bytes when it closes, and
services keep their connections alive.) Clean and faulted measurements alternate, so a
drift in the machine's load does not land on one side only. Recovery: no toxic left on the
edge (read back), and the request succeeds again. The latencies and the rise between
floors and medians are reported as figures, not judged; a clean measurement slower than
the latency (``discriminating: false``) means the bound proved less than usual.
"""

from __future__ import annotations

import socket
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from harness.closing import Closing
from harness.errors import FleetError
from harness.fleet.graph import EdgeKind
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import InfraKind
from harness.fleet.smokespec import TEMPLATE, SmokePoll, SmokeRequest, SmokeSpec, placeholders
from harness.fleet.wiring import EdgeProxy
from harness.httpbody import describe_body, json_or_none

__all__ = ["Samples", "SmokeError", "SmokeFlow", "check_edges", "run_smoke"]

_REQUEST_TIMEOUT = 10.0
_RATE_LIMIT_WAIT_MAX = 2.0
_EDGE_TIMEOUT = 3.0
# A PostgreSQL SSLRequest: length 8, code 80877103. The server answers one byte, S or N.
_PG_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


class SmokeError(FleetError):
    """A step of the smoke run failed; ``step`` names it."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"{step}: {reason}")


@dataclass(frozen=True)
class Samples:
    values_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.values_ms)

    @property
    def floor(self) -> float:
        return min(self.values_ms)

    def summary(self) -> dict[str, Any]:
        return {
            "p50_ms": round(self.p50, 1),
            "min_ms": round(self.floor, 1),
            "samples_ms": [round(v, 1) for v in self.values_ms],
        }


# --- every edge carries traffic ----------------------------------------------------------


def _exchange(edge: EdgeProxy, payload: bytes) -> bytes:
    with socket.create_connection(
        (edge.listen.host, edge.listen.port), timeout=_EDGE_TIMEOUT
    ) as sock:
        sock.sendall(payload)
        return sock.recv(64)


def _check_edge(fleet: Fleet, edge: EdgeProxy, http: httpx.Client) -> str:
    """What came back through the edge's proxy; :class:`SmokeError` if nothing did."""
    step = f"edge {edge.name}"
    target = edge.edge.target
    try:
        if edge.edge.kind is EdgeKind.HTTP:
            ready = fleet.services[target].spec.ready_check.http
            url = f"http://{edge.listen.address}{ready or '/'}"
            response = http.get(url)
            if ready is not None and response.status_code != 200:
                raise SmokeError(
                    step,
                    f"GET {url} -> {response.status_code} (expected 200 from {target}'s "
                    f"readiness path): {describe_body(response)}",
                )
            return f"GET {ready or '/'} -> {response.status_code}"
        kind = fleet.manifest.infra[target].kind
        if kind is InfraKind.POSTGRES:
            reply = _exchange(edge, _PG_SSL_REQUEST)
            if reply[:1] not in (b"S", b"N"):
                raise SmokeError(step, f"PostgreSQL SSLRequest answered {reply!r}")
            return "PostgreSQL answered an SSLRequest"
        reply = _exchange(edge, b"PING\r\n")
        if not reply.startswith((b"+", b"-")):
            raise SmokeError(step, f"Redis PING answered {reply!r}")
        return f"Redis answered PING: {reply.strip().decode(errors='replace')}"
    except (OSError, httpx.HTTPError) as exc:
        raise SmokeError(step, f"nothing came back through {edge.listen.address}: {exc!r}") from exc


def check_edges(fleet: Fleet) -> dict[str, str]:
    """Send a little traffic through every edge's proxy to its (ready) callee."""
    seen: dict[str, str] = {}
    with httpx.Client(timeout=_EDGE_TIMEOUT, trust_env=False) as http:
        for name, edge in sorted(fleet.edges.items()):
            seen[name] = _check_edge(fleet, edge, http)
    return seen


# --- the declared request ----------------------------------------------------------------


def _field(body: Any, dotted: str) -> Any:
    value = body
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _has_value(value: Any) -> bool:
    return value is not None and value not in ("", [], {})


class SmokeFlow(Closing):
    """The fleet's declared request, sent and measured; the benchmarks use it too.

    :meth:`prepare` runs the setup steps once; :meth:`measure_ms` sends the request and
    polls until done, returning milliseconds.
    """

    def __init__(self, fleet: Fleet, spec: SmokeSpec, *, timeout: float = 20.0) -> None:
        self.fleet = fleet
        self.spec = spec
        self.timeout = timeout
        # Loopback only: never through a proxy from the environment.
        self.http = httpx.Client(timeout=httpx.Timeout(_REQUEST_TIMEOUT), trust_env=False)
        self.vars: dict[str, Any] = {"run_id": uuid.uuid4().hex[:8]}
        self.last: dict[str, Any] = {}

    def close(self) -> None:
        self.http.close()

    def _render(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = TEMPLATE.fullmatch(value)
            if whole is not None:
                return self._value(whole.group(1))
            return TEMPLATE.sub(lambda m: str(self._value(m.group(1))), value)
        if isinstance(value, dict):
            return {key: self._render(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._render(item) for item in value]
        return value

    def _value(self, name: str) -> Any:
        if name == "uuid":
            return uuid.uuid4().hex
        return self.vars[name]

    def _headers(self, request: SmokeRequest) -> dict[str, str]:
        # A shared header waits until a step has saved what it needs (a token, say).
        shared = {
            key: value
            for key, value in self.spec.headers.items()
            if all(name in self.vars or name == "uuid" for name in placeholders(value))
        }
        return {
            key: str(self._render(value)) for key, value in {**shared, **request.headers}.items()
        }

    def _url(self, request: SmokeRequest) -> str:
        service = request.service or next(iter(self.fleet.services))
        return self.fleet.url(service) + str(self._render(request.path))

    def send(self, step: str, request: SmokeRequest) -> tuple[int, Any]:
        """Status and parsed JSON body (None if not JSON); the saves are made."""
        url = self._url(request)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                response = self.http.request(
                    request.method,
                    url,
                    headers=self._headers(request),
                    json=self._render(request.body) if request.body is not None else None,
                )
            except httpx.HTTPError as exc:
                raise SmokeError(step, f"{request.method} {url}: {exc!r}") from exc
            if (
                response.status_code == 429
                and 429 not in request.expect
                and time.monotonic() < deadline
            ):
                # A rate limit: wait as told (HTTP's Retry-After), within our own deadline.
                time.sleep(_retry_after(response))
                continue
            break
        if response.status_code not in request.expect:
            raise SmokeError(
                step,
                f"{request.method} {url} -> {response.status_code} "
                f"(expected {sorted(request.expect)}): {describe_body(response)}",
            )
        body = json_or_none(response)
        for name, dotted in request.save.items():
            value = _field(body, dotted)
            if not _has_value(value):
                raise SmokeError(
                    step,
                    f"{request.method} {url} -> {response.status_code}: no value at "
                    f"'{dotted}' to save as {name} (body: {describe_body(response)})",
                )
            self.vars[name] = value
        return response.status_code, body

    def prepare(self) -> None:
        for index, request in enumerate(self.spec.setup):
            self.send(f"setup[{index}]", request)

    def _poll(self, step: str, poll: SmokePoll) -> Any:
        deadline = time.monotonic() + poll.timeout
        while True:
            status, body = self.send(step, poll)
            value = _field(body, poll.until)
            for dotted, bad in poll.fail_if.items():
                if _field(body, dotted) in bad:
                    raise SmokeError(step, f"{dotted} is {_field(body, dotted)!r}: the flow failed")
            if _has_value(value) and (poll.equals is None or value == poll.equals):
                return value
            if time.monotonic() >= deadline:
                wanted = f"= {poll.equals!r}" if poll.equals is not None else "a value"
                raise SmokeError(
                    step,
                    f"'{poll.until}' not {wanted} after {poll.timeout:g} s "
                    f"(last: {status}, {poll.until} = {value!r})",
                )
            time.sleep(poll.interval)

    def measure_ms(self, step: str = "request") -> float:
        """Milliseconds from sending the request to its poll being done."""
        began = time.perf_counter()
        status, _ = self.send(step, self.spec.request)
        result: Any = None
        if self.spec.poll is not None:
            result = self._poll(f"{step}: poll", self.spec.poll)
        elapsed = (time.perf_counter() - began) * 1000
        self.last = {"http_status": status}
        if self.spec.poll is not None:
            self.last["poll"] = {self.spec.poll.until: result}
        return elapsed

    def describe(self) -> str:
        request = self.spec.request
        service = request.service or next(iter(self.fleet.services))
        text = f"{request.method} {service} {request.path}"
        if self.spec.poll is not None:
            poll = self.spec.poll
            until = f"{poll.until} = {poll.equals!r}" if poll.equals is not None else poll.until
            text += f", then {poll.service or service} {poll.path} until {until}"
        return text


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.0), _RATE_LIMIT_WAIT_MAX)
    except ValueError:
        return 1.0


def _measure_flow(
    fleet: Fleet, spec: SmokeSpec, edge: str | None, latency_ms: int, samples: int
) -> dict[str, Any]:
    with SmokeFlow(fleet, spec) as flow:
        flow.prepare()
        flow.measure_ms("first request")
        first = dict(flow.last)
        result: dict[str, Any] = {
            "request": flow.describe(),
            "first": first,
            # Names only: a saved value may be a credential.
            "saved": sorted(flow.vars),
        }
        if edge is None:
            clean = Samples([flow.measure_ms("request") for _ in range(samples)])
            result.update(fault=None, fault_observed=None, timings={"baseline": clean.summary()})
            return result
        faults = fleet.edge(edge)
        baseline: list[float] = []
        faulted: list[float] = []
        for _ in range(samples):
            baseline.append(flow.measure_ms("request (baseline)"))
            with faults.latency(latency_ms):
                faulted.append(flow.measure_ms(f"request ({edge} slow)"))
        left = fleet.toxiproxy.toxics(faults.proxy_name)
        if left:
            raise SmokeError("recovery", f"toxics left on {edge}: {left}")
        recovered = Samples([flow.measure_ms("request (recovered)") for _ in range(samples)])
    clean, slow = Samples(baseline), Samples(faulted)
    # Toxiproxy delays every answer on the edge by exactly the latency: a request through
    # it cannot be faster, however idle or busy the machine is.
    too_fast = [round(v, 1) for v in slow.values_ms if v < latency_ms]
    result.update(
        fault={"edge": edge, "toxic": "latency", "latency_ms": latency_ms},
        timings={
            "baseline": clean.summary(),
            "faulted": slow.summary(),
            "recovered": recovered.summary(),
        },
        pairs=len(baseline),
        fault_observed=not too_fast,
        # False when clean requests were already slower than the latency: then the bound
        # could not tell an edge on the way from one off it.
        discriminating=clean.floor < latency_ms,
        rise_ms=round(slow.floor - clean.floor, 1),
        rise_p50_ms=round(slow.p50 - clean.p50, 1),
    )
    if too_fast:
        result["too_fast_ms"] = too_fast
    return result


def run_smoke(
    fleet: Fleet,
    spec: SmokeSpec | None = None,
    *,
    edge: str | None = None,
    latency_ms: int | None = None,
    samples: int | None = None,
) -> dict[str, Any]:
    """Smoke a running fleet; a JSON-ready summary (``ok`` false when the fault was not
    seen on the way), or :class:`SmokeError` for a step that failed.

    ``spec`` defaults to the manifest's ``smoke:``; ``edge``, ``latency_ms`` and
    ``samples`` override its fault and sample count.
    """
    spec = spec if spec is not None else fleet.manifest.smoke
    summary: dict[str, Any] = {
        "ok": True,
        "fleet": fleet.manifest.name,
        "boot_seconds": round(fleet.boot_seconds or 0.0, 3),
        "services": {
            name: {
                "ready": svc.spec.ready_check.describe(svc.url, svc.port),
                "ready_seconds": round(svc.ready_seconds or 0.0, 3),
            }
            for name, svc in sorted(fleet.services.items())
        },
    }
    for name in fleet.services:
        if not fleet.is_ready(name):
            raise SmokeError(f"ready {name}", "the service is no longer ready")
    summary["edges"] = check_edges(fleet)
    if spec is None:
        summary["flow"] = None
        return summary
    fault = spec.fault
    chosen = edge if edge is not None else (fault.edge if fault is not None else None)
    latency = latency_ms if latency_ms is not None else (fault.latency_ms if fault else 300)
    flow = _measure_flow(fleet, spec, chosen, latency, samples or spec.samples)
    summary["flow"] = flow
    if flow["fault_observed"] is False:
        summary.update(
            ok=False,
            step="latency fault",
            reason=(
                f"requests with {latency} ms on {chosen} took {flow['too_fast_ms']} ms: "
                "faster than the latency, so the edge is not on the request's way"
            ),
        )
    return summary
