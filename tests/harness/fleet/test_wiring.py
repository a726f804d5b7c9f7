"""The environment a service is started with: its own variables and its dependencies' URLs."""

from __future__ import annotations

from pathlib import Path

from harness.fleet.graph import derive_edges
from harness.fleet.manifest import Manifest
from harness.fleet.wiring import EdgeProxy, InfraServer, service_env
from harness.infra.base import Endpoint
from harness.infra.external import ExternalPostgres, ExternalRedis

MANIFEST = Manifest.model_validate(
    {
        "version": 1,
        "env": {"LOG_LEVEL": "WARNING", "DATA_DIR": "${service_dir}/data", "KEEP": "$HOME"},
        "infra": {"pg": {"kind": "postgres"}, "bus": {"kind": "redis"}, "lite": {"kind": "sqlite"}},
        "services": {
            "orders": {
                "module": "m.orders",
                "port_env": "HTTP_PORT",
                "env": {"LOG_LEVEL": "DEBUG", "WORKERS": 4},
                "calls": {"payments": {"env": "PAYMENTS_URL"}},
                "database": {"infra": "pg", "name": "orders", "env": "DB"},
                "broker": {"infra": "bus"},
            },
            "payments": {"module": "m.payments", "database": {"infra": "lite", "name": "pay"}},
        },
    }
)
INFRA: dict[str, InfraServer] = {
    "pg": ExternalPostgres("postgresql://u:secret@db.example:5432/postgres"),
    "bus": ExternalRedis("redis://cache.example:6379/0"),
}
PROXY_PORTS = {"orders->payments": 21001, "orders->pg": 21002, "orders->bus": 21003}


def proxied_edges() -> dict[str, EdgeProxy]:
    return {
        edge.name: EdgeProxy(
            edge, edge.name, Endpoint("127.0.0.1", PROXY_PORTS[edge.name]), Endpoint("x", 1)
        )
        for edge in derive_edges(MANIFEST)
    }


def test_dependencies_are_reached_through_their_proxies(tmp_path: Path) -> None:
    env = service_env(MANIFEST, "orders", 20000, proxied_edges(), INFRA, tmp_path)
    assert env["PAYMENTS_URL"] == "http://127.0.0.1:21001"
    assert env["DB"] == "postgresql://u:secret@127.0.0.1:21002/orders"
    assert env["BROKER_URL"] == "redis://127.0.0.1:21003/0"
    assert (env["HOST"], env["HTTP_PORT"]) == ("127.0.0.1", "20000")


def test_service_env_beats_fleet_env_and_templates_are_filled(tmp_path: Path) -> None:
    env = service_env(MANIFEST, "orders", 20000, proxied_edges(), INFRA, tmp_path)
    assert env["LOG_LEVEL"] == "DEBUG"
    assert env["WORKERS"] == "4"
    assert env["DATA_DIR"] == f"{tmp_path}/services/orders/data"
    assert env["KEEP"] == "$HOME"  # not ours to expand


def test_sqlite_is_a_file_in_the_work_directory(tmp_path: Path) -> None:
    env = service_env(MANIFEST, "payments", 20001, proxied_edges(), INFRA, tmp_path)
    assert env["DATABASE_URL"] == f"sqlite:///{tmp_path}/sqlite/pay.db"
    assert "PAYMENTS_URL" not in env


def test_unproxied_edges_lead_straight_to_the_dependency(tmp_path: Path) -> None:
    direct = {
        edge.name: EdgeProxy(edge, None, INFRA["pg"].endpoint, INFRA["pg"].endpoint)
        for edge in derive_edges(MANIFEST)
        if edge.name == "orders->pg"
    }
    env = service_env(MANIFEST, "orders", 20000, direct, INFRA, tmp_path)
    assert env["DB"] == "postgresql://u:secret@db.example:5432/orders"
