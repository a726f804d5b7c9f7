"""The sample fleet as containers (`--fleet-backend docker`) on a real engine: its image built
offline and cached, every service a labelled container on the run's network behind
Toxiproxy, container faults and their reverts, the container game-day, and nothing left
after a SIGTERM or (after a sweep) a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from harness.config import load_config
from harness.faults.container import Disconnect, container_pause, container_stop
from harness.fleet.containers import FLEET_LABEL, SERVICE_LABEL, container_of
from harness.fleet.images import ensure_image
from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import load_manifest
from harness.infra.docker_engine import LABEL_RUN, docker_client

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "sample_services" / "fleet.yaml"
TOXIPROXY = ROOT / ".tools" / "bin" / "toxiproxy-server"
SCENARIO = ROOT / "scenarios" / "chaos" / "containers-partitioned.yaml"


def tolerant_manifest(directory: Path) -> Path:
    """The sample manifest with a longer ready_timeout: six containers importing at once on
    a shared 2-core machine took 19-30 s here, against the manifest's 30 s."""
    data = yaml.safe_load(MANIFEST.read_text())
    data["root"] = str(ROOT)
    for service in data["services"].values():
        service["ready_timeout"] = 120
    path = directory / "fleet.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    manifest = tolerant_manifest(tmp_path_factory.mktemp("docker-fleet"))
    running = launch(manifest, fleet_backend="docker", toxiproxy_bin=TOXIPROXY)
    try:
        yield running
    finally:
        running.close()
    assert running.teardown_problems == []


def _ours(label: str, value: str) -> tuple[list[object], list[object]]:
    engine = docker_client()
    selector = {"label": f"{label}={value}"}
    return (
        engine.containers.list(all=True, filters=selector),
        engine.networks.list(filters=selector),
    )


def _token(fleet: Fleet) -> str:
    answer = httpx.post(
        fleet.url("gateway") + "/auth/token",
        json={"client_id": "docker-fleet-test", "scopes": ["admin"]},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@pytest.mark.usefixtures("fleet")
def test_the_image_is_cached_by_content() -> None:
    # The fleet's launch built it (or found it current): the same content is not built again.
    built = ensure_image(load_manifest(MANIFEST))
    assert built is not None
    assert built.cached, built
    labels = docker_client().images.get(built.tag).labels
    assert labels["org.harness.content-hash"] == built.content_hash


def test_every_service_is_a_labelled_container_published_on_loopback(fleet: Fleet) -> None:
    assert fleet.describe()["backend"] == "docker"
    for name, service in fleet.services.items():
        container = docker_client().containers.get(container_of(fleet, name).container_id)
        assert container.status == "running"
        assert container.labels[SERVICE_LABEL] == name
        assert container.labels[FLEET_LABEL] == "sample"
        assert LABEL_RUN in container.labels
        bindings = container.attrs["HostConfig"]["PortBindings"]
        assert bindings == {
            f"{service.port}/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(service.port)}]
        }
        networks = container.attrs["NetworkSettings"]["Networks"]
        assert list(networks) == [container_of(fleet, name).network.name]
        assert httpx.get(service.url + "/readyz", timeout=5).status_code == 200


def test_every_edge_goes_through_toxiproxy_on_the_network_gateway(fleet: Fleet) -> None:
    gateway_ip = container_of(fleet, "orders").network.gateway
    assert fleet.edges, "the sample fleet has edges"
    for edge in fleet.edges.values():
        assert edge.proxy is not None
        assert edge.listen.host == gateway_ip, edge
    env = fleet.services["orders"].env
    assert env["PAYMENTS_URL"] == f"http://{fleet.edges['orders->payments'].listen.address}"
    assert f"@{gateway_ip}:" in env["DATABASE_URL"]


def test_a_request_crosses_a_proxied_edge_and_the_edge_can_be_cut(fleet: Fleet) -> None:
    token = {"Authorization": f"Bearer {_token(fleet)}"}
    put = httpx.put(fleet.url("inventory") + "/stock/docker-sku", json={"available": 7}, timeout=10)
    assert put.status_code == 200, put.text
    url = fleet.url("gateway") + "/api/stock/docker-sku"
    through = httpx.get(url, headers=token, timeout=10)
    assert through.status_code == 200, through.text
    assert through.json()["available"] == 7
    with fleet.edge("gateway->inventory").down():
        # The gateway cannot reach inventory: the stock it read before comes from its
        # memory, marked (stale-if-error); a SKU it never read is a 503.
        cut = httpx.get(url, headers=token, timeout=15)
        assert cut.status_code == 200, cut.text
        assert cut.headers["X-Degraded"] == "inventory"
        unread = httpx.get(url.replace("docker-sku", "docker-unread"), headers=token, timeout=15)
        assert unread.status_code == 503, unread.text
    assert httpx.get(url, headers=token, timeout=10).status_code == 200


def _answers(fleet: Fleet, name: str) -> bool:
    try:
        return httpx.get(fleet.readiness_url(name), timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_pause_disconnect_and_stop_each_take_a_service_away_until_reverted(
    fleet: Fleet,
) -> None:
    ready = {name: (lambda n=name: fleet.wait_ready(n, timeout=60)) for name in fleet.services}
    inventory = container_of(fleet, "inventory")
    with container_pause(inventory) as paused:
        assert paused.description == "docker pause inventory"
        assert inventory.paused
        assert inventory.running
        assert not _answers(fleet, "inventory")  # frozen: the connection hangs, then times out
    assert not inventory.paused
    fleet.wait_ready("inventory", timeout=30)

    payments = container_of(fleet, "payments")
    with Disconnect(payments, ready=ready["payments"]):
        assert payments.disconnected
        assert not _answers(fleet, "payments")  # no published port, no network
        assert payments.running  # it still runs, alone
    assert not payments.disconnected
    assert _answers(fleet, "payments")

    shipping = container_of(fleet, "shipping")
    with container_stop(shipping, ready=ready["shipping"]):
        assert not shipping.running
        assert shipping.returncode is not None
    assert shipping.running
    assert _answers(fleet, "shipping")
    # Its log goes on in the same file across the restart.
    assert fleet.logs("shipping").count("start container") == 2


def test_the_container_gameday_passes_and_restores_the_fleet(fleet: Fleet, tmp_path: Path) -> None:
    from harness.chaos.outcome import Verdict
    from harness.chaos.session import run_gameday

    config = load_config(start=ROOT, environ={"HARNESS_FLEET_BACKEND": "docker"})
    result = run_gameday(SCENARIO, fleet=fleet, config=config, report_dir=tmp_path)
    assert result.verdict is Verdict.PASSED, (result.reason, [str(c) for c in result.checks])
    assert [record.label for record in result.actions] == [
        "docker pause inventory",
        "docker disconnect payments",
        "docker stop shipping",
    ]
    assert all(record.error is None and record.ended_s is not None for record in result.actions)
    during = [check for check in result.checks if check.phase == "during"]
    assert during
    assert all(check.ok for check in during)
    assert result.rollback.restored
    for name in fleet.services:
        container = container_of(fleet, name)
        assert container.running
        assert not container.paused
        assert not container.disconnected


def _fleet_up(tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, object]]:
    env = {**os.environ, "HARNESS_RUNS_DIR": str(tmp_path / "runs")}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "harness.cli", "fleet", "up", "--json"),
            *("--fleet-backend", "docker", "--manifest", str(tolerant_manifest(tmp_path))),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=60)
        pytest.fail(f"harness fleet up failed: {process.stderr.read() if process.stderr else ''}")
    return process, json.loads(line)


def _run_label(described: dict[str, object]) -> str:
    # The run's network is named after its work directory; it carries the run's label.
    network = docker_client().networks.get(Path(str(described["workdir"])).name)
    return str(network.attrs["Labels"][LABEL_RUN])


def test_sigterm_tears_every_container_and_the_network_down(tmp_path: Path) -> None:
    process, described = _fleet_up(tmp_path)
    run = _run_label(described)
    containers, networks = _ours(LABEL_RUN, run)
    assert len(containers) == 6
    assert len(networks) == 1
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert _ours(LABEL_RUN, run) == ([], [])


def test_a_killed_run_is_swept_by_the_next_one(tmp_path: Path) -> None:
    process, described = _fleet_up(tmp_path)
    run = _run_label(described)
    process.kill()  # SIGKILL: no teardown at all
    process.wait(timeout=30)
    containers, networks = _ours(LABEL_RUN, run)
    # The containers outlive a SIGKILL of the harness: they are the engine's children.
    assert len(containers) == 6
    assert len(networks) == 1
    env = {**os.environ, "HARNESS_RUNS_DIR": str(tmp_path / "runs")}
    swept = subprocess.run(
        [sys.executable, "-m", "harness.cli", "fleet", "sweep"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert swept.returncode == 0, swept.stdout + swept.stderr
    assert _ours(LABEL_RUN, run) == ([], [])


def test_with_the_docker_provider_every_part_is_a_container(tmp_path: Path) -> None:
    # Images from configuration: `make test` points them at the local ones.
    infra = load_config(start=ROOT).infra
    running = launch(
        tolerant_manifest(tmp_path), provider="docker", infra=infra, fleet_backend="docker"
    )
    try:
        database_edge = running.edges["orders->postgres"]
        assert database_edge.listen.host == container_of(running, "orders").network.gateway
        assert httpx.get(running.readiness_url("orders"), timeout=10).status_code == 200
        with running.edge("orders->postgres").down():
            cut = httpx.get(running.readiness_url("orders"), timeout=10)
            assert cut.status_code == 503, cut.text
        running.wait_ready("orders", timeout=60)
    finally:
        running.close()
    assert running.teardown_problems == []
