"""Readiness: configuration by default; backends only when explicitly named."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from sample_services.gateway.settings import GatewaySettings
from tests.sample_services.gateway.conftest import Fleet

DEAD = "http://127.0.0.1:9"


def test_ready_with_every_backend_down_by_default(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(
        real=("orders", "inventory", "payments", "shipping"),
        orders_url=DEAD,
        inventory_url=DEAD,
        payments_url=DEAD,
        shipping_url=DEAD,
    )
    response = fleet.gateway.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"verification_key": "ok"}


def test_named_backends_gate_readiness(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(real=("orders",), orders_url=DEAD, readiness_backends="orders,inventory")
    fleet.backends["inventory"].answer("GET", "/healthz", 200, {"status": "ok"})
    response = fleet.gateway.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["inventory"] == "ok"
    assert checks["orders"].startswith("error")
    assert fleet.gateway.get("/healthz").status_code == 200


def test_readiness_probes_do_not_trip_the_breaker(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(readiness_backends="inventory", breaker_fail_max=1)
    for _ in range(3):
        assert fleet.gateway.get("/readyz").status_code == 503  # stand-in: 404 on /healthz
    fleet.backends["inventory"].answer("GET", "/healthz", 200, {"status": "ok"})
    assert fleet.gateway.get("/readyz").status_code == 200
    backends = fleet.gateway.app.state.backends  # type: ignore[attr-defined]
    assert backends.inventory.client.breaker.current_state == "closed"


def test_unknown_readiness_backend_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="unknown backends"):
        GatewaySettings(readiness_backends="orders,billing")


def test_short_hmac_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        GatewaySettings(jwt_secret="short")


def test_empty_issuer_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_ISSUER", "")
    monkeypatch.setenv("RATE_LIMIT_RPS", "2.5")
    settings = GatewaySettings()
    assert settings.jwt_issuer is None
    assert settings.rate_limit_rps == 2.5


def test_backends_are_closed_on_shutdown(fleet_factory: Callable[..., Fleet]) -> None:
    fleet = fleet_factory(real=("orders",), orders_url=DEAD)
    backends = fleet.gateway.app.state.backends  # type: ignore[attr-defined]
    fleet.gateway.__exit__(None, None, None)
    assert backends.orders.client.http.is_closed
