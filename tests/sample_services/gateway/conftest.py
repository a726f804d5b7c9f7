"""Stand-in backends (tiny recording apps) and a gateway wired to them in-process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from sample_services.gateway.app import create_app
from sample_services.gateway.settings import BACKENDS, DEV_JWT_SECRET, GatewaySettings

NOT_FOUND = {"detail": "not found", "code": "not_found"}


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StandIn:
    """A backend that answers what the test told it to and records every call it receives."""

    name: str
    calls: list[Call] = field(default_factory=list)
    answers: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)

    def answer(self, method: str, path: str, status: int, body: Any) -> None:
        self.answers[(method, path)] = (status, body)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
        async def anything(path: str, request: Request) -> Response:
            self.calls.append(
                Call(
                    request.method,
                    "/" + path,
                    {k.lower(): v for k, v in request.headers.items()},
                    await request.body(),
                )
            )
            status, body = self.answers.get((request.method, "/" + path), (404, NOT_FOUND))
            return JSONResponse(body, status_code=status)

        return app


class FakeClock:
    """Monotonic seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_token(
    claims: dict[str, Any] | None = None,
    *,
    key: Any = DEV_JWT_SECRET,
    algorithm: str = "HS256",
    client: str = "client-a",
    scopes: str = "",
    ttl: int = 300,
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": client, "scope": scopes, "iat": now, "exp": now + ttl}
    body.update(claims or {})
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=algorithm)


def bearer(token: str | None = None, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or make_token(**kwargs)}"}


@dataclass
class Fleet:
    gateway: TestClient
    backends: dict[str, StandIn]
    clock: FakeClock

    def calls(self) -> int:
        return sum(len(b.calls) for b in self.backends.values())


# Fast-failing outbound bounds: a test that reaches a dead backend must not wait seconds.
FAST = {
    "http_connect_timeout": 0.2,
    "http_read_timeout": 1.0,
    "http_retry_attempts": 2,
    "http_backoff_base": 0.001,
    "http_backoff_cap": 0.002,
}


class FleetBuilder:
    """Builds gateways wired to stand-ins (or, for names in `real`, to real URLs)."""

    def __init__(self) -> None:
        self._standin_clients: list[TestClient] = []
        self._gateways: list[TestClient] = []

    def build(self, *, real: tuple[str, ...] = (), **overrides: Any) -> Fleet:
        standins = {name: StandIn(name) for name in BACKENDS}
        http: dict[str, TestClient] = {}
        for name, standin in standins.items():
            if name in real:
                continue
            client = TestClient(standin.app(), base_url=f"http://{name}")
            self._standin_clients.append(client)
            http[name] = client
        settings = GatewaySettings(**{**FAST, "rate_limit_burst": 1000, **overrides})
        clock = FakeClock()
        gateway = TestClient(create_app(settings, http=http, clock=clock))
        gateway.__enter__()
        self._gateways.append(gateway)
        return Fleet(gateway, standins, clock)

    def close(self) -> None:
        for gateway in self._gateways:
            gateway.__exit__(None, None, None)
        for client in self._standin_clients:
            client.close()


@pytest.fixture
def fleet_factory() -> Iterator[Callable[..., Fleet]]:
    """A fresh gateway per call, for tests that need their own settings."""
    builder = FleetBuilder()
    yield builder.build
    builder.close()


@pytest.fixture(scope="module")
def shared_fleet() -> Iterator[Fleet]:
    builder = FleetBuilder()
    yield builder.build()
    builder.close()


@pytest.fixture
def fleet(shared_fleet: Fleet) -> Fleet:
    """The module's default gateway, reset: no recorded calls or answers, full buckets,
    closed breakers (building a gateway per test would dominate the suite's run time)."""
    for standin in shared_fleet.backends.values():
        standin.calls.clear()
        standin.answers.clear()
    state = shared_fleet.gateway.app.state  # type: ignore[attr-defined]
    state.guard.limiter.reset()
    state.stale.clear()
    for client in state.backends.resilient_clients():
        client.breaker.close()
    return shared_fleet
