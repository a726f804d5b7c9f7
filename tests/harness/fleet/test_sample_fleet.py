"""The real sample fleet, booted from sample_services/fleet.yaml, through the smoke flow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.fleet.smoke import SmokeError, SmokeOptions, run_smoke

from .conftest import TOXIPROXY_BIN

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres]

MANIFEST = Path(__file__).resolve().parents[3] / "sample_services" / "fleet.yaml"


@pytest.fixture(scope="module")
def sample_fleet() -> Iterator[Fleet]:
    with launch(MANIFEST, toxiproxy_bin=TOXIPROXY_BIN) as fleet:
        yield fleet


def test_every_edge_has_its_proxy(sample_fleet: Fleet) -> None:
    assert set(sample_fleet.edges) == {
        "gateway->inventory",
        "gateway->orders",
        "gateway->payments",
        "gateway->shipping",
        "orders->inventory",
        "orders->payments",
        "inventory->postgres",
        "orders->postgres",
        "payments->postgres",
        "relay->postgres",
        "shipping->postgres",
        "relay->redis",
        "shipping->redis",
    }
    proxies = sample_fleet.toxiproxy.proxies()
    for edge in sample_fleet.edges.values():
        assert edge.proxy is not None
        assert proxies[edge.proxy].listen == edge.listen.address
        assert proxies[edge.proxy].upstream == edge.upstream.address
    # Callers were handed the proxies, e.g. the orders service's payments URL:
    orders_env = sample_fleet.services["orders"].env
    assert (
        orders_env["PAYMENTS_URL"]
        == f"http://{sample_fleet.edges['orders->payments'].listen.address}"
    )


def test_smoke_flow_sees_the_latency_fault(sample_fleet: Fleet) -> None:
    options = SmokeOptions(samples=5)
    summary = run_smoke(sample_fleet, options)
    assert summary["ok"] is True
    assert summary["order"]["status"] == "CONFIRMED"
    assert summary["order"]["shipment_id"]
    assert summary["fault_observed"] is True
    assert min(summary["checkout"]["faulted"]["samples_ms"]) >= 300
    assert len(summary["checkout"]["faulted"]["samples_ms"]) == options.samples
    assert sample_fleet.toxiproxy.toxics("orders__payments") == []


def test_smoke_flow_refuses_a_fault_that_is_not_on_the_way(sample_fleet: Fleet) -> None:
    # Checkouts never call inventory through the gateway, so they stay far below a latency
    # of 5 s there, however busy the machine is.
    with pytest.raises(SmokeError, match=r"not on the checkout's way"):
        run_smoke(sample_fleet, SmokeOptions(edge="gateway->inventory", latency_ms=5000, samples=1))
    assert sample_fleet.toxiproxy.toxics("gateway__inventory") == []


def test_readiness_follows_the_database_edge(sample_fleet: Fleet) -> None:
    assert sample_fleet.is_ready("payments")
    with sample_fleet.edge("payments->postgres").down():
        assert not sample_fleet.is_ready("payments")
    sample_fleet.wait_ready("payments", timeout=15)


def test_the_fleet_leaves_nothing_behind() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    fleet = launch(MANIFEST, toxiproxy_bin=TOXIPROXY_BIN)
    described = fleet.describe()
    pids = [s["pid"] for s in described["services"].values()]
    pids += [i["pid"] for i in described["infra"].values()] + [described["toxiproxy"]["pid"]]
    assert len(pids) == 9
    fleet.close()
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before
    assert not Path(described["workdir"]).exists()
    assert fleet.teardown_problems == []
