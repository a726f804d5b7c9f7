"""`harness fleet compose`: the sample fleet as a Compose file with Toxiproxy on every edge,
checked as data, by docker-compose's own validation, and (with an engine) run: a request
through a proxied edge, the edge cut through the Toxiproxy API, everything torn down."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.config import require_docker
from harness.faults.toxiproxy import edge_to_proxy_name
from harness.fleet.compose import COMPOSE_PROXY_BASE, compose_document
from harness.fleet.graph import derive_edges
from harness.fleet.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "sample_services" / "fleet.yaml"
runner = CliRunner()


def _document(**images: str) -> dict[str, Any]:
    result = runner.invoke(app, ["fleet", "compose", "--manifest", str(MANIFEST)], env=images)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# The fleet as the harness runs it")
    document = yaml.safe_load(result.output)
    assert isinstance(document, dict)
    return document


def test_every_edge_goes_through_a_proxy_the_setup_creates() -> None:
    document = _document()
    services = document["services"]
    manifest = load_manifest(MANIFEST)
    assert set(services) == {"toxiproxy", "setup", *manifest.infra, *manifest.services}
    proxies = {
        p["name"]: p for p in json.loads(services["setup"]["environment"]["HARNESS_PROXIES"])
    }
    edges = derive_edges(manifest)
    assert len(proxies) == len(edges) > 0
    for edge in edges:
        proxy = proxies[edge_to_proxy_name(edge.name)]
        port = int(proxy["listen"].rsplit(":", 1)[1])
        assert port >= COMPOSE_PROXY_BASE
        assert proxy["upstream"].split(":")[0] == edge.target
        # The caller reaches its callee through that proxy, and only through it.
        value = services[edge.source]["environment"][edge.env]
        assert (
            f"@toxiproxy:{port}/" in value
            or value.endswith(f"toxiproxy:{port}")
            or (value.startswith(f"redis://toxiproxy:{port}/"))
        ), (edge.name, value)
    for name in manifest.services:
        service = services[name]
        assert service["ports"] == ["127.0.0.1::8080"]
        assert service["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}
        assert service["image"] == "harness-local/sample-services:latest"
        assert service["command"] == ["python", "-m", f"sample_services.{name}"]
    assert services["toxiproxy"]["ports"] == ["127.0.0.1::8474"]
    databases = json.loads(services["setup"]["environment"]["HARNESS_DATABASES"])
    assert sorted(next(iter(databases.values()))) == ["inventory", "orders", "payments", "shipping"]


def test_infrastructure_images_come_from_configuration() -> None:
    services = _document(
        HARNESS_POSTGRES_IMAGE="local/pg:1",
        HARNESS_REDIS_IMAGE="local/redis:1",
        HARNESS_TOXIPROXY_IMAGE="local/toxi:1",
    )["services"]
    assert services["postgres"]["image"] == "local/pg:1"
    assert services["redis"]["image"] == "local/redis:1"
    assert services["toxiproxy"]["image"] == "local/toxi:1"


def test_dollars_in_the_manifest_are_not_compose_variables(tmp_path: Path) -> None:
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(
        "version: 1\ncontainers: {image: some/image:1}\n"
        "services:\n  a: {module: a.main, env: {PRICE: '$5', DIR: '${service_dir}/x'}}\n"
    )
    document = compose_document(
        load_manifest(manifest), toxiproxy_image="t", postgres_image="p", redis_image="r"
    )
    env = document["services"]["a"]["environment"]
    assert env["PRICE"] == "$$5"
    assert env["DIR"] == "/data/x"


def test_a_fleet_without_an_image_for_the_setup_is_bad_input(tmp_path: Path) -> None:
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text("version: 1\nservices:\n  a: {image: some/image:1}\n")
    result = runner.invoke(app, ["fleet", "compose", "--manifest", str(manifest)])
    assert result.exit_code == 2
    assert "--setup-image" in result.output
    with_image = runner.invoke(
        app, ["fleet", "compose", "--manifest", str(manifest), "--setup-image", "python:3.12"]
    )
    assert with_image.exit_code == 0, with_image.output
    assert yaml.safe_load(with_image.output)["services"]["setup"]["image"] == "python:3.12"


def _compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        why = "docker-compose is not installed (Debian: apt-get install docker-compose)"
        if require_docker():
            pytest.fail(f"{why}; HARNESS_REQUIRE_DOCKER is set")
        pytest.skip(why)
    return found


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    compose = _compose_binary()
    path = tmp_path / "compose.yaml"
    result = runner.invoke(app, ["fleet", "compose", "--manifest", str(MANIFEST)])
    path.write_text(result.output)
    checked = subprocess.run(
        [compose, "-f", str(path), "config", "-q"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


LOCAL_IMAGES = {
    "HARNESS_POSTGRES_IMAGE": "harness-local/postgres:15",
    "HARNESS_REDIS_IMAGE": "harness-local/redis:7",
    "HARNESS_TOXIPROXY_IMAGE": "harness-local/toxiproxy:2.12.0",
}


@pytest.fixture
def composed(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """The sample fleet up under docker-compose with the local images; down at the end."""
    from harness.fleet.images import ensure_image

    compose = _compose_binary()
    ensure_image(load_manifest(MANIFEST))  # the services' image, built offline if needed
    result = runner.invoke(app, ["fleet", "compose", "--manifest", str(MANIFEST)], env=LOCAL_IMAGES)
    assert result.exit_code == 0, result.output
    path = tmp_path / "compose.yaml"
    path.write_text(result.output)
    command = [compose, "-p", f"harness-compose-{uuid.uuid4().hex[:8]}", "-f", str(path)]
    env = {**os.environ, "COMPOSE_HTTP_TIMEOUT": "300"}
    try:
        up = subprocess.run(
            [*command, "up", "-d"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert up.returncode == 0, up.stderr[-3000:]
        yield command, path
    finally:
        subprocess.run(
            [*command, "down", "-v", "--remove-orphans", "-t", "5"],
            capture_output=True,
            env=env,
            timeout=300,
            check=False,
        )
        left = subprocess.run(
            [*command, "ps", "-q"], capture_output=True, text=True, env=env, check=False
        )
        assert left.stdout.strip() == "", "compose down left containers"


def _published(command: list[str], service: str, port: int) -> str:
    found = subprocess.run(
        [*command, "port", service, str(port)], capture_output=True, text=True, check=True
    )
    address = found.stdout.strip()
    assert address.startswith("127.0.0.1:"), address
    return f"http://{address}"


def _wait_ready(base: str, what: str) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"the composed {what} never became ready"
        time.sleep(0.5)


@pytest.mark.docker
@pytest.mark.slow
def test_the_composed_fleet_serves_through_its_proxies(
    composed: tuple[list[str], Path],
) -> None:
    command, _ = composed
    gateway = _published(command, "gateway", 8080)
    inventory = _published(command, "inventory", 8080)
    toxiproxy = _published(command, "toxiproxy", 8474)
    # Each service it talks to directly: the gateway's readiness does not wait for its
    # backends (a CI run reset the inventory's connection, not yet serving).
    _wait_ready(gateway, "gateway")
    _wait_ready(inventory, "inventory")
    proxies = httpx.get(toxiproxy + "/proxies", timeout=5).json()
    assert "gateway__inventory" in proxies, sorted(proxies)
    token = httpx.post(
        gateway + "/auth/token", json={"client_id": "compose-test", "scopes": ["admin"]}, timeout=10
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    put = httpx.put(inventory + "/stock/compose-sku", json={"available": 3}, timeout=30)
    assert put.status_code == 200, put.text
    through = httpx.get(gateway + "/api/stock/compose-sku", headers=headers, timeout=30)
    assert through.status_code == 200, through.text
    assert through.json()["available"] == 3
    # The request went through the proxy: with it disabled, the gateway cannot reach inventory.
    disable = httpx.post(
        toxiproxy + "/proxies/gateway__inventory", json={"enabled": False}, timeout=5
    )
    assert disable.status_code == 200, disable.text
    cut = httpx.get(gateway + "/api/stock/compose-sku", headers=headers, timeout=30)
    # The gateway cannot reach inventory: the stock it read before comes from its memory,
    # marked (stale-if-error); a SKU it never read is a 503.
    assert cut.status_code == 200, cut.text
    assert cut.headers["X-Degraded"] == "inventory"
    unread = httpx.get(gateway + "/api/stock/compose-unread", headers=headers, timeout=30)
    assert unread.status_code == 503, unread.text
