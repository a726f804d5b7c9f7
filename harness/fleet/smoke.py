"""The smoke flow: a checkout through the gateway, then the same with latency on one edge.

It speaks the sample fleet's public HTTP API (sample_services/README.md, "Public HTTP API"): a dev
token from ``POST /auth/token``, seeding through the admin routes, ``POST /api/orders``.
Nothing is imported from the services; a user's fleet with the same API runs it too.

"Checkout latency" is the time from ``POST /api/orders`` to the order reaching CONFIRMED:
the gateway answers 202 before the saga runs, so the POST's own round trip would not see a
slow payments call at all. The confirmation is polled on the orders service directly, at a
short interval: polling through the gateway would spend the client's rate-limit bucket and
add the gateway's hop to the measurement.

Whether the fault was on the way is decided by a bound no busy machine can break: every
faulted checkout must take at least the latency, since Toxiproxy delays each answer on the
edge by exactly that and load only ever adds time. (Toxiproxy's per-proxy byte counters,
``-proxy-metrics``, cannot serve as evidence here: v2.12 adds a connection's bytes when it
closes, and the services keep their connections alive.) Recovery: no toxic left on the edge
(read back), and checkouts confirm again. The latencies of clean, faulted and recovered
checkouts and the rise between their floors and medians are reported as figures, not
judged: they move with the machine's load, and a clean checkout slower than the latency
(``discriminating: false``) means the bound proved less than usual.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from harness.closing import Closing
from harness.errors import FleetError
from harness.fleet.lifecycle import Fleet


class SmokeError(FleetError):
    """A step of the smoke flow failed; ``step`` names it."""

    def __init__(self, step: str, reason: str) -> None:
        self.step = step
        self.reason = reason
        super().__init__(f"{step}: {reason}")


_TERMINAL_FAILURES = {"COMPENSATING", "COMPENSATED", "CANCELLED"}


@dataclass(frozen=True)
class SmokeOptions:
    gateway: str = "gateway"
    orders: str = "orders"
    edge: str = "orders->payments"
    latency_ms: int = 300
    samples: int = 5
    timeout: float = 20.0
    poll_interval: float = 0.005
    client_id: str = "harness-smoke"


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


class CheckoutClient(Closing):
    """A small client of the fleet's public API, failing with the step it was in.

    :meth:`prepare` gets a token and seeds a SKU and an account; :meth:`checkout_ms` then
    measures one checkout. The benchmarks use it too.
    """

    def __init__(self, fleet: Fleet, options: SmokeOptions | None = None) -> None:
        self.options = options or SmokeOptions()
        self.gateway = fleet.url(self.options.gateway)
        self.orders = fleet.url(self.options.orders)
        # Loopback only: never through a proxy from the environment.
        self.http = httpx.Client(timeout=httpx.Timeout(10.0), trust_env=False)
        self.headers: dict[str, str] = {}
        self.run_id = uuid.uuid4().hex[:8]
        self.sku = f"smoke-sku-{self.run_id}"
        self.account = f"smoke-acct-{self.run_id}"

    def prepare(self) -> None:
        self.token()
        self.seed()

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        step: str,
        method: str,
        url: str,
        *,
        expect: set[int],
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + self.options.timeout
        while True:
            try:
                response = self.http.request(
                    method, url, headers={**self.headers, **(headers or {})}, json=json
                )
            except httpx.HTTPError as exc:
                raise SmokeError(step, f"{method} {url}: {exc!r}") from exc
            if response.status_code == 429 and time.monotonic() < deadline:
                # The gateway's rate limit: wait as told, within our own deadline.
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
                continue
            if response.status_code not in expect:
                raise SmokeError(
                    step,
                    f"{method} {url} -> {response.status_code} "
                    f"(expected {sorted(expect)}): {response.text[:300]}",
                )
            body = response.json()
            if not isinstance(body, dict):
                raise SmokeError(step, f"{method} {url}: expected a JSON object, got {body!r}")
            return body

    def token(self) -> None:
        body = self.call(
            "token",
            "POST",
            f"{self.gateway}/auth/token",
            expect={200},
            json={"client_id": self.options.client_id, "scopes": ["admin"]},
        )
        self.headers = {"Authorization": f"Bearer {body['access_token']}"}

    def seed(self) -> None:
        sku, account = self.sku, self.account
        self.call(
            "seed stock",
            "PUT",
            f"{self.gateway}/api/stock/{sku}",
            expect={200},
            json={"available": 10_000},
        )
        self.call(
            "seed account",
            "PUT",
            f"{self.gateway}/api/accounts/{account}",
            expect={200},
            json={"balance_cents": 100_000_000},
        )

    def place_order(self) -> str:
        # Every order is a new one: a fresh Idempotency-Key per checkout.
        body = self.call(
            "place order",
            "POST",
            f"{self.gateway}/api/orders",
            expect={202},
            headers={"Idempotency-Key": uuid.uuid4().hex},
            json={
                "account_id": self.account,
                "items": [{"sku": self.sku, "quantity": 1, "unit_price_cents": 250}],
            },
        )
        return str(body["order_id"])

    def wait_for(
        self, step: str, url: str, done: Callable[[dict[str, Any]], bool], interval: float
    ) -> dict[str, Any]:
        deadline = time.monotonic() + self.options.timeout
        while True:
            body = self.call(step, "GET", url, expect={200, 404})
            status = body.get("status")
            if status in _TERMINAL_FAILURES:
                reason = body.get("failure_reason")
                raise SmokeError(step, f"order ended {status} (failure_reason: {reason})")
            if done(body):
                return body
            if time.monotonic() >= deadline:
                raise SmokeError(step, f"not done after {self.options.timeout:g} s: {body}")
            time.sleep(interval)

    def checkout_ms(self, step: str = "checkout") -> float:
        """Milliseconds from POST /api/orders to the order being CONFIRMED."""
        began = time.perf_counter()
        order_id = self.place_order()
        self.wait_for(
            step,
            f"{self.orders}/orders/{order_id}",
            lambda body: body.get("status") == "CONFIRMED",
            self.options.poll_interval,
        )
        return (time.perf_counter() - began) * 1000


def _measure_with_and_without(api: CheckoutClient, fleet: Fleet) -> tuple[Samples, Samples]:
    """Checkouts alternately without and with the latency on the edge.

    Alternating pairs keep a drift in the machine's load (other processes, a GC) from
    landing on one side only.
    """
    opts = api.options
    faults = fleet.edge(opts.edge)
    baseline: list[float] = []
    faulted: list[float] = []
    for _ in range(opts.samples):
        baseline.append(api.checkout_ms("checkout (baseline)"))
        with faults.latency(opts.latency_ms):
            faulted.append(api.checkout_ms(f"checkout ({opts.edge} slow)"))
    return Samples(baseline), Samples(faulted)


def run_smoke(fleet: Fleet, options: SmokeOptions | None = None) -> dict[str, Any]:
    """Run the flow on a running fleet; a JSON-ready summary, or :class:`SmokeError`."""
    opts = options or SmokeOptions()
    with CheckoutClient(fleet, opts) as api:
        api.prepare()
        order_id = api.place_order()
        view = api.wait_for(
            "confirmed and shipped",
            f"{api.gateway}/api/orders/{order_id}",
            lambda body: body.get("status") == "CONFIRMED" and bool(body.get("shipment")),
            0.1,
        )
        baseline, faulted = _measure_with_and_without(api, fleet)
        left = fleet.toxiproxy.toxics(fleet.edge(opts.edge).proxy_name)
        if left:
            raise SmokeError("recovery", f"toxics left on {opts.edge}: {left}")
        recovered = Samples([api.checkout_ms("checkout (recovered)") for _ in range(opts.samples)])
    # Toxiproxy delays every answer on the edge by exactly the latency: a checkout through
    # it cannot be faster, however idle or busy the machine is.
    too_fast = [round(v, 1) for v in faulted.values_ms if v < opts.latency_ms]
    if too_fast:
        raise SmokeError(
            "latency fault",
            f"checkouts with {opts.latency_ms} ms on {opts.edge} took {too_fast} ms: "
            "faster than the latency, so the edge is not on the checkout's way "
            f"(baseline {baseline.summary()}, faulted {faulted.summary()})",
        )
    rise = faulted.floor - baseline.floor
    shipment = view.get("shipment") or {}
    return {
        "ok": True,
        "fleet": fleet.manifest.name,
        "boot_seconds": round(fleet.boot_seconds or 0.0, 3),
        "order": {
            "order_id": order_id,
            "status": view.get("status"),
            "shipment_id": shipment.get("shipment_id"),
        },
        "fault": {"edge": opts.edge, "toxic": "latency", "latency_ms": opts.latency_ms},
        "checkout": {
            "baseline": baseline.summary(),
            "faulted": faulted.summary(),
            "recovered": recovered.summary(),
        },
        "pairs": len(baseline.values_ms),
        "fault_observed": True,
        # False when clean checkouts were already slower than the latency: then the bound
        # above could not tell an edge on the way from one off it.
        "discriminating": baseline.floor < opts.latency_ms,
        "rise_ms": round(rise, 1),
        "rise_p50_ms": round(faulted.p50 - baseline.p50, 1),
    }
