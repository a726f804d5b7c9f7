"""The docker provider on a real engine: containers, their network, labels, teardown, and
the sweep of what dead runs left. Images come from configuration (`make test` points them at
the local images .ci/install-docker builds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.config import InfraConfig, load_config
from harness.errors import InfraError
from harness.infra import runs
from harness.infra.docker import DockerProvider
from harness.infra.docker_engine import (
    LABEL_HOST,
    LABEL_RUN,
    LABEL_START,
    docker_client,
    run_labels,
    sweep_leftovers,
)
from harness.infra.local_redis import ping
from harness.infra.local_toxiproxy import api_answers
from harness.infra.postgres import can_connect
from harness.infra.providers import make_provider

pytestmark = [pytest.mark.slow]

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def infra() -> InfraConfig:
    return load_config().infra


def _gone(kind: str, ident: str) -> bool:
    import docker

    collection = getattr(docker_client(), kind)
    try:
        collection.get(ident)
    except docker.errors.NotFound:
        return True
    return False


@pytest.mark.docker
def test_servers_are_labelled_containers_on_a_network_of_their_own(
    tmp_path: Path, infra: InfraConfig
) -> None:
    provider = make_provider("docker", tmp_path, infra=infra)
    assert isinstance(provider, DockerProvider)
    client = docker_client()
    try:
        postgres, redis, toxiproxy = provider.postgres(), provider.redis(), provider.toxiproxy()
        postgres.create_database("app")
        assert can_connect(postgres.url("app"))
        assert ping(redis.endpoint)
        assert api_answers(toxiproxy.api_url)
        ours = run_labels("any")[LABEL_RUN]
        network = provider.network_name
        assert network is not None
        for server in (postgres, redis):
            assert server.container_id is not None
            container = client.containers.get(server.container_id)
            bindings = container.attrs["HostConfig"]["PortBindings"]
            hosts = {b["HostIp"] for found in bindings.values() for b in found}
            assert hosts == {"127.0.0.1"}, f"{server.name}: published on {hosts}"
            assert container.labels[LABEL_RUN] == ours
            aliases = container.attrs["NetworkSettings"]["Networks"][network]["Aliases"]
            assert server.name in aliases
        assert toxiproxy.container_id is not None
        proxy = client.containers.get(toxiproxy.container_id)
        # The host's loopback, to reach services that are host processes on 127.0.0.1.
        assert proxy.attrs["HostConfig"]["NetworkMode"] == "host"
        assert proxy.labels[LABEL_RUN] == ours
        assert client.networks.get(network).attrs["Labels"][LABEL_RUN] == ours
        assert client.volumes.get(postgres.volume).attrs["Labels"][LABEL_RUN] == ours
        made = [postgres.container_id, redis.container_id, toxiproxy.container_id]
    finally:
        provider.close()
    assert provider.close_errors == []
    assert all(_gone("containers", ident) for ident in made)
    assert _gone("networks", network)
    assert _gone("volumes", postgres.volume)
    assert "ready to accept connections" in (provider.root / "postgres-postgres.log").read_text()


@pytest.mark.docker
def test_a_missing_image_is_named_with_the_setting_that_chooses_it(tmp_path: Path) -> None:
    infra = InfraConfig(redis_image="harness-local/no-such-image:0")
    provider = DockerProvider(tmp_path, infra=infra)
    try:
        with pytest.raises(InfraError, match=r"no-such-image.*infra\.redis_image"):
            provider.redis()
    finally:
        provider.close()


def _dead_labels(kind: str) -> dict[str, str]:
    # This process's identity with another start time: a run whose process is gone.
    labels = run_labels(kind)
    return {**labels, LABEL_START: "ticks:0", LABEL_RUN: labels[LABEL_RUN] + "-dead"}


@pytest.mark.docker
def test_the_sweep_removes_dead_runs_leftovers_only(infra: InfraConfig) -> None:
    client = docker_client()
    image = infra.toxiproxy_image
    made: dict[str, Any] = {}
    try:
        made["dead"] = client.containers.create(image, labels=_dead_labels("toxiproxy"))
        made["live"] = client.containers.create(image, labels=run_labels("toxiproxy"))
        other = {**_dead_labels("toxiproxy"), LABEL_HOST: "another-host"}
        made["other"] = client.containers.create(image, labels=other)
        made["net"] = client.networks.create("harness-sweep-test", labels=_dead_labels("net"))
        report = sweep_leftovers(client)
        assert _gone("containers", made["dead"].id)
        assert _gone("networks", made["net"].id)
        assert not _gone("containers", made["live"].id), "a live run's container was removed"
        assert not _gone("containers", made["other"].id), "another host's container was removed"
        assert report.problems == []
        assert report.live_runs >= 1
    finally:
        for key in ("live", "other", "dead"):
            if key in made and not _gone("containers", made[key].id):
                made[key].remove(force=True)
        if "net" in made and not _gone("networks", made["net"].id):
            made["net"].remove()


@pytest.mark.docker
def test_the_run_registry_removes_what_a_dead_run_recorded(
    tmp_path: Path, infra: InfraConfig
) -> None:
    client = docker_client()
    container = client.containers.create(infra.toxiproxy_image, labels={"purpose": "test"})
    journal = tmp_path / "run-1-ticks-1.jsonl"
    header = {"run": 1, "pid": 1, "start": "ticks:1", "boot": runs.boot_id(), "argv": ["x"]}
    event = {"kind": "container", "op": "add", "id": container.id, "engine": "docker"}
    journal.write_text(json.dumps(header) + "\n" + json.dumps(event) + "\n")
    try:
        report = runs.sweep(tmp_path)
        assert _gone("containers", container.id)
        assert report.problems == []
        assert any(container.id[:12] in path for run in report.runs for path in run.removed)
    finally:
        if not _gone("containers", container.id):
            container.remove(force=True)


ENGINELESS = """
import pytest

@pytest.mark.docker
def test_needs_docker():
    pass
"""


@pytest.mark.parametrize(("required", "outcome"), [("", "skipped"), ("1", "errors")])
def test_without_an_engine_docker_tests_skip_unless_required(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, required: str, outcome: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-docker.sock")
    monkeypatch.setenv("HARNESS_REQUIRE_DOCKER", required)
    pytester.makepyfile(ENGINELESS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rsf")
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines(["*no Docker engine answers*"])


KILLED_RUN = """
import sys
from pathlib import Path
from harness.config import load_config
from harness.infra.docker import DockerProvider

provider = DockerProvider(Path(sys.argv[1]), infra=load_config().infra)
server = provider.redis()
print(server.container_id, provider.network_name, flush=True)
sys.stdin.read()  # until killed
"""


@pytest.mark.docker
def test_a_sigkilled_runs_containers_and_network_are_swept_by_the_next(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "HARNESS_RUNS_DIR": str(tmp_path / "runs")}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(tmp_path / "work")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        container, network = child.stdout.readline().split()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert not _gone("containers", container), "nothing removed it yet: it outlived its run"
    report = sweep_leftovers()
    assert _gone("containers", container)
    assert _gone("networks", network)
    assert any(container[:12] in line or "harness-" in line for line in report.removed)
