"""The real sample fleet, booted from sample_services/fleet.yaml, through the smoke flow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.fleet.smoke import run_smoke
from harness.fleet.smokespec import SmokeFault

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
    # The checkout is the sample manifest's own `smoke:` declaration: nothing in the
    # harness knows the sample's API.
    summary = run_smoke(sample_fleet)
    assert summary["ok"] is True
    flow = summary["flow"]
    assert flow["first"] == {"http_status": 202, "poll": {"status": "CONFIRMED"}}
    assert flow["fault_observed"] is True
    assert flow["fault"] == {"edge": "orders->payments", "toxic": "latency", "latency_ms": 300}
    assert min(flow["timings"]["faulted"]["samples_ms"]) >= 300
    assert len(flow["timings"]["faulted"]["samples_ms"]) == 5
    assert sample_fleet.toxiproxy.toxics("orders__payments") == []
    # Every edge carried traffic, the databases' and the broker's too.
    assert summary["edges"]["orders->payments"] == "GET /readyz -> 200"
    assert summary["edges"]["orders->postgres"] == "PostgreSQL answered an SSLRequest"
    assert summary["edges"]["relay->redis"].startswith("Redis answered PING")


def test_smoke_flow_refuses_a_fault_that_is_not_on_the_way(sample_fleet: Fleet) -> None:
    # Checkouts never call inventory through the gateway, so they stay far below a latency
    # of 5 s there, however busy the machine is.
    assert sample_fleet.manifest.smoke is not None
    spec = sample_fleet.manifest.smoke.model_copy(
        update={"fault": SmokeFault(edge="gateway->inventory", latency_ms=5000), "samples": 1}
    )
    summary = run_smoke(sample_fleet, spec)
    assert summary["ok"] is False
    assert summary["step"] == "latency fault"
    assert "not on the request's way" in summary["reason"]
    assert summary["flow"]["fault_observed"] is False
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
