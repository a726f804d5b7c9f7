"""What every component test of a sample service with a database checks, on the fleet the
harness's ``component`` fixture started: the service against its database in a
PostgreSQL container, the database edge through Toxiproxy.

Bounds are generous (the machine is shared and noisy) but far below what a hang costs:
each says how long the service may take to notice, never how fast it should be.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from harness.fleet.lifecycle import Fleet

# The sample manifest's PostgreSQL server (fleet.yaml: infra.postgres).
DB_SERVER = "postgres"
# How long a service may take to notice its database is gone, or back.
NOTICE_BOUND = 15.0


def rows(fleet: Fleet, database: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Straight to the server (not through the service's proxy): what is really stored."""
    server = fleet.infra[DB_SERVER]
    url = server.url(database)  # type: ignore[call-arg]
    with psycopg.connect(url, connect_timeout=5) as conn:
        return list(conn.execute(query, params).fetchall())


def wait_until(what: str, predicate: Callable[[], bool], bound: float) -> float:
    """Seconds until ``predicate`` held; fails naming ``what`` beyond ``bound``."""
    began = time.monotonic()
    while True:
        try:
            if predicate():
                return time.monotonic() - began
        except httpx.HTTPError:
            pass
        if time.monotonic() - began > bound:
            raise AssertionError(f"{what}: not within {bound:g} s")
        time.sleep(0.05)


def status(fleet: Fleet, service: str, path: str, timeout: float = 5.0) -> int:
    return httpx.get(f"{fleet.url(service)}{path}", timeout=timeout).status_code


def tables_created(fleet: Fleet, database: str, tables: Iterable[str]) -> None:
    """The service made its schema in an empty database: every table of its models."""
    found = {
        name
        for (name,) in rows(
            fleet,
            database,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        )
    }
    missing = set(tables) - found
    assert not missing, f"tables not created in {database}: {sorted(missing)} (found {found})"


def restart(fleet: Fleet, service: str) -> None:
    """Stop the service's process and start it again on the same database."""
    process = fleet.services[service].process
    process.stop()
    assert not process.running
    process.start()
    fleet.wait_ready(service, timeout=60)


def readiness_follows_database(fleet: Fleet, service: str) -> dict[str, float]:
    """With the database edge down, /readyz turns 503 and /healthz stays 200; with it up
    again, /readyz is 200 again. Returns how long each took."""
    assert status(fleet, service, "/readyz") == 200
    with fleet.edge(f"{service}->{DB_SERVER}").down():
        unready = wait_until(
            f"{service} /readyz 503 with its database edge down",
            lambda: status(fleet, service, "/readyz") == 503,
            NOTICE_BOUND,
        )
        assert status(fleet, service, "/healthz") == 200, "liveness must ignore the database"
    ready = wait_until(
        f"{service} /readyz 200 once its database edge is back",
        lambda: status(fleet, service, "/readyz") == 200,
        NOTICE_BOUND,
    )
    assert status(fleet, service, "/healthz") == 200
    return {"unready_after": unready, "ready_after": ready}


def concurrently(count: int, call: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """``count`` identical requests at once (released together by a barrier)."""
    import threading

    barrier = threading.Barrier(count)

    def one() -> httpx.Response:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: one(), range(count)))


def bounded_under_latency(
    fleet: Fleet, service: str, path: str, latency_ms: int
) -> tuple[int, float]:
    """A request to ``service`` while its database edge has ``latency_ms`` of latency,
    beyond the database client's connect timeout: it must be answered within a bound far
    below the latency itself. The proxy is disabled first (which closes the service's
    pooled connections) and enabled again only once the latency is in place, so the next
    connection is made through the slow edge. Returns (status, seconds); status 0 when
    the request was still unanswered after the latency itself."""
    edge = f"{service}->{DB_SERVER}"
    proxy = fleet.edge_proxy(edge).proxy
    assert proxy is not None
    fleet.toxiproxy.disable(proxy)
    try:
        with fleet.edge(edge).latency(latency_ms):
            fleet.toxiproxy.enable(proxy)
            began = time.monotonic()
            try:
                url = f"{fleet.url(service)}{path}"
                code = httpx.get(url, timeout=latency_ms / 1000).status_code
            except httpx.TimeoutException:
                code = 0
            elapsed = time.monotonic() - began
    finally:
        fleet.clear_edge(edge)
    return code, elapsed
