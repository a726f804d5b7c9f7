"""Edges and start order derived from a manifest."""

from __future__ import annotations

from typing import Any

import pytest

from harness.fleet.graph import Edge, EdgeKind, derive_edges, start_order, start_waves
from harness.fleet.manifest import Manifest


def manifest(**services: dict[str, Any]) -> Manifest:
    return Manifest.model_validate(
        {
            "version": 1,
            "infra": {
                "pg": {"kind": "postgres"},
                "bus": {"kind": "redis"},
                "lite": {"kind": "sqlite"},
            },
            "services": {name: {"module": f"m.{name}", **spec} for name, spec in services.items()},
        }
    )


SHOP = manifest(
    gateway={"calls": {"orders": {"env": "ORDERS_URL"}, "payments": {"env": "PAYMENTS_URL"}}},
    orders={
        "calls": {"payments": {"env": "PAYMENTS_URL"}},
        "database": {"infra": "pg", "name": "orders"},
    },
    payments={"database": {"infra": "lite", "name": "payments"}},
    relay={
        "database": {"infra": "pg", "name": "orders"},
        "broker": {"infra": "bus", "env": "BUS"},
        "depends_on": ["orders"],
    },
)


def test_every_network_edge_is_derived_and_named_from_to() -> None:
    edges = derive_edges(SHOP)
    assert [(e.name, e.kind, e.env) for e in edges] == [
        ("gateway->orders", EdgeKind.HTTP, "ORDERS_URL"),
        ("gateway->payments", EdgeKind.HTTP, "PAYMENTS_URL"),
        ("orders->payments", EdgeKind.HTTP, "PAYMENTS_URL"),
        ("orders->pg", EdgeKind.DATABASE, "DATABASE_URL"),
        ("relay->bus", EdgeKind.BROKER, "BUS"),
        ("relay->pg", EdgeKind.DATABASE, "DATABASE_URL"),
    ]


def test_sqlite_is_a_file_not_an_edge() -> None:
    assert not [e for e in derive_edges(SHOP) if e.source == "payments"]


def test_depends_on_orders_start_but_is_no_edge() -> None:
    assert "relay->orders" not in {e.name for e in derive_edges(SHOP)}
    order = start_order(SHOP)
    assert order.index("orders") < order.index("relay")


def test_callees_start_before_callers_and_infra_first() -> None:
    order = start_order(SHOP)
    assert order[:3] == ["bus", "lite", "pg"]
    assert order.index("payments") < order.index("orders") < order.index("gateway")


def test_waves_group_services_that_can_start_together() -> None:
    assert start_waves(SHOP) == [["payments"], ["orders"], ["gateway", "relay"]]


def test_independent_services_share_the_first_wave() -> None:
    assert start_waves(manifest(b={}, a={}, c={})) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("edge", "name"),
    [
        (Edge("orders", "payments", EdgeKind.HTTP, "X"), "orders->payments"),
        (Edge("relay", "bus", EdgeKind.BROKER, "X"), "relay->bus"),
    ],
)
def test_edge_name(edge: Edge, name: str) -> None:
    assert edge.name == name
