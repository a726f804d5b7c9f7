"""The lifecycle on stand-in services: real processes, a real Toxiproxy, real HTTP."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from harness.config import InfraConfig
from harness.errors import FleetError, ServiceNotReadyError
from harness.faults.toxiproxy import ToxiproxyClient
from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.infra.local import LocalProvider
from harness.infra.local_postgres import find_bindir
from harness.infra.ports import free_port
from harness.infra.zygote import ZygoteChild

from . import conftest
from .conftest import STANDIN, TOXIPROXY_BIN, WriteManifest, standin_service

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True, params=["command", "module"])
def standin_started_as(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: stand-ins with their own interpreter, and forked by the zygote."""
    monkeypatch.setattr(conftest, "STANDIN_AS", request.param)
    return str(request.param)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A directory the `postgres` user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="harness-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


http = httpx.Client(trust_env=False, timeout=10.0)


def call_ms(fleet: Fleet) -> float:
    """How long a's call to b took, as a measured it."""
    response = http.get(fleet.url("a") + "/call")
    response.raise_for_status()
    body = response.json()
    assert body["callee"] == {"service": "b"}
    return float(body["elapsed_ms"])


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def private_tmp(tmp_path: Path) -> Path:
    """Fleets make their work directories here, so a test can see what is left."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    return directory


@pytest.fixture
def standin_fleet(
    write_manifest: WriteManifest, caller_callee: dict[str, Any], private_tmp: Path
) -> Iterator[Fleet]:
    with launch(
        write_manifest(caller_callee), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=private_tmp
    ) as fleet:
        yield fleet


def test_caller_reaches_its_callee_through_the_edge_proxy(standin_fleet: Fleet) -> None:
    edge = standin_fleet.edges["a->b"]
    assert edge.proxy == "a__b"
    assert edge.upstream.port == standin_fleet.services["b"].port
    assert edge.listen != edge.upstream
    # The caller was handed the proxy's address, not the callee's.
    assert standin_fleet.services["a"].env["CALLEE_URL"] == f"http://{edge.listen.address}"
    proxies = standin_fleet.toxiproxy.proxies()
    assert proxies["a__b"].upstream == edge.upstream.address
    assert call_ms(standin_fleet) < 1000
    assert "b: listening on" in standin_fleet.logs("b")
    assert '"GET /hello HTTP/1.1" 200' in standin_fleet.logs("b", lines=5)


def test_latency_on_an_edge_slows_the_caller_and_goes_away(standin_fleet: Fleet) -> None:
    before = call_ms(standin_fleet)
    with standin_fleet.edge("a->b").latency(300):
        slow = call_ms(standin_fleet)
    after = call_ms(standin_fleet)
    assert slow >= 300
    assert before < 150
    assert after < 150
    assert standin_fleet.toxiproxy.toxics("a__b") == []


def test_clear_edge_removes_what_a_test_left(standin_fleet: Fleet) -> None:
    standin_fleet.edge("a->b").latency(100).inject()
    standin_fleet.edge("a->b").down().inject()
    standin_fleet.clear_edge("a->b")
    proxy = standin_fleet.toxiproxy.proxy("a__b")
    assert proxy.enabled
    assert proxy.toxics == ()


def test_unknown_names_list_the_known_ones(standin_fleet: Fleet) -> None:
    with pytest.raises(FleetError, match=r"unknown edge 'b->a' \(edges: a->b\)"):
        standin_fleet.edge("b->a")
    with pytest.raises(FleetError, match=r"unknown service 'c' \(services: a, b\)"):
        standin_fleet.url("c")


def test_process_handle_kills_and_restarts_a_service(
    standin_fleet: Fleet, standin_started_as: str
) -> None:
    process = standin_fleet.services["b"].process
    old_pid = process.pid
    process.kill()
    assert gone(old_pid)
    with pytest.raises(httpx.HTTPError):
        http.get(standin_fleet.url("a") + "/call").raise_for_status()
    process.start()
    standin_fleet.wait_ready("b")
    assert process.pid != old_pid
    assert call_ms(standin_fleet) < 1000
    # A `module:` service comes back through the zygote, as it first started.
    assert isinstance(process._popen, ZygoteChild) == (standin_started_as == "module")


def test_close_leaves_no_process_and_no_directory(
    write_manifest: WriteManifest,
    caller_callee: dict[str, Any],
    private_tmp: Path,
    standin_started_as: str,
) -> None:
    before = children()
    fleet = launch(
        write_manifest(caller_callee), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=private_tmp
    )
    described = fleet.describe()
    pids = [svc["pid"] for svc in described["services"].values()]
    pids.append(described["toxiproxy"]["pid"])
    # `module:` services are forked from the fleet's zygote, which goes with them.
    assert (described["zygote"] is not None) == (standin_started_as == "module")
    if described["zygote"] is not None:
        pids.append(described["zygote"])
        parents = {psutil.Process(svc["pid"]).ppid() for svc in described["services"].values()}
        assert parents == {described["zygote"]}
    assert all(not gone(pid) for pid in pids)
    assert Path(described["workdir"]).is_dir()

    fleet.close()
    fleet.close()  # idempotent

    assert all(gone(pid) for pid in pids)
    assert children() == before
    assert list(private_tmp.iterdir()) == []
    assert fleet.teardown_problems == []


def test_unproxied_fleet_wires_callers_straight_to_callees(
    write_manifest: WriteManifest, caller_callee: dict[str, Any], private_tmp: Path
) -> None:
    before = children()
    with launch(write_manifest(caller_callee), proxied=False, temp_parent=private_tmp) as fleet:
        b = fleet.services["b"]
        assert fleet.services["a"].env["CALLEE_URL"] == b.url
        assert fleet.edges["a->b"].proxy is None
        assert call_ms(fleet) < 1000
        # No Toxiproxy was started at all: a and b (and the zygote that forked them,
        # when there is one) are our only new children.
        zygote = {fleet.zygote.pid} if fleet.zygote is not None else set()
        services = {svc.process.pid for svc in fleet.services.values()}
        assert children() - before == services | zygote
        with pytest.raises(FleetError, match="unproxied"):
            fleet.edge("a->b")


def test_a_service_that_never_gets_ready_fails_the_start_and_everything_stops(
    write_manifest: WriteManifest, private_tmp: Path
) -> None:
    manifest = {
        "version": 1,
        "services": {
            "a": standin_service(
                "a", calls={"b": {"env": "CALLEE_URL"}}, env={"NEVER_READY": "1"}, ready_timeout=1
            ),
            "b": standin_service("b"),
        },
    }
    before = children()
    with pytest.raises(ServiceNotReadyError) as caught:
        launch(write_manifest(manifest), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=private_tmp)
    message = str(caught.value)
    assert "service a not ready after 1 s" in message
    assert "/readyz -> 200" in message
    assert "answered 503" in message
    # The tail of the failing service's log is in the error.
    assert f"--- last lines of {private_tmp}" in message
    assert '"GET /readyz HTTP/1.1" 503' in message
    assert children() == before
    assert list(private_tmp.iterdir()) == []


def test_a_service_that_exits_fails_the_start_with_its_code(
    write_manifest: WriteManifest, private_tmp: Path
) -> None:
    manifest = {
        "version": 1,
        "services": {"a": standin_service("a", env={"EXIT_AT_START": "3"})},
    }
    before = children()
    with pytest.raises(ServiceNotReadyError, match="exited with code 3") as caught:
        launch(write_manifest(manifest), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=private_tmp)
    assert "a: exiting at start as asked" in str(caught.value)
    assert children() == before
    assert list(private_tmp.iterdir()) == []


def test_an_interrupt_during_the_start_tears_down_what_started(
    write_manifest: WriteManifest,
    caller_callee: dict[str, Any],
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[int | None] = []
    real_booted = Fleet._booted

    def interrupted_once_b_is_ready(self: Fleet, name: str, began: float) -> bool:
        if real_booted(self, name, began):
            started.append(self.services[name].process.pid)
            raise KeyboardInterrupt  # Ctrl-C, between b being ready and a starting
        return False

    monkeypatch.setattr(Fleet, "_booted", interrupted_once_b_is_ready)
    before = children()
    with pytest.raises(KeyboardInterrupt):
        launch(write_manifest(caller_callee), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=private_tmp)
    assert len(started) == 1
    assert gone(started[0])
    assert children() == before
    assert list(private_tmp.iterdir()) == []


def test_keep_logs_copies_the_logs_before_the_directory_goes(
    write_manifest: WriteManifest, caller_callee: dict[str, Any], tmp_path: Path, private_tmp: Path
) -> None:
    kept = tmp_path / "kept"
    with launch(
        write_manifest(caller_callee),
        toxiproxy_bin=TOXIPROXY_BIN,
        temp_parent=private_tmp,
        keep_logs=kept,
    ):
        pass
    assert "b: listening on" in (kept / "logs" / "b.log").read_text()
    assert list(kept.glob("infra/*/toxiproxy.log"))
    assert list(private_tmp.iterdir()) == []


def test_environment_templates_and_fleet_wide_env(
    write_manifest: WriteManifest, private_tmp: Path
) -> None:
    manifest = {
        "version": 1,
        "env": {"SHARED": "fleet", "WHERE": "${service_dir}", "OVERRIDDEN": "fleet"},
        "services": {"a": standin_service("a", env={"OVERRIDDEN": "service", "COUNT": 3})},
    }
    with launch(write_manifest(manifest), proxied=False, temp_parent=private_tmp) as fleet:
        env = fleet.services["a"].env
        assert env["SHARED"] == "fleet"
        assert env["OVERRIDDEN"] == "service"
        assert env["COUNT"] == "3"
        assert env["WHERE"] == str(fleet.workdir / "services" / "a")
        assert Path(env["WHERE"]).is_dir()
        assert (env["HOST"], env["PORT"]) == ("127.0.0.1", str(fleet.services["a"].port))


@pytest.mark.postgres
def test_database_and_broker_edges_go_through_their_own_proxies(
    write_manifest: WriteManifest, private_tmp: Path
) -> None:
    import psycopg

    manifest = {
        "version": 1,
        "infra": {"pg": {"kind": "postgres"}, "bus": {"kind": "redis"}},
        "services": {
            "c": standin_service(
                "c",
                env={"DEPENDS": "DATABASE_URL,BROKER_URL"},
                database={"infra": "pg", "name": "cdb"},
                broker={"infra": "bus"},
            )
        },
    }
    before = children()
    with launch(
        write_manifest(manifest), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=private_tmp
    ) as fleet:
        env = fleet.services["c"].env
        db_edge, bus_edge = fleet.edges["c->pg"], fleet.edges["c->bus"]
        assert f"@{db_edge.listen.address}/cdb" in env["DATABASE_URL"]
        assert env["BROKER_URL"].startswith(f"redis://{bus_edge.listen.address}/")
        # The database was created, and is reachable through the proxy.
        with psycopg.connect(env["DATABASE_URL"], connect_timeout=5) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("cdb",)
        assert fleet.is_ready("c")
        with fleet.edge("c->pg").down():
            assert not fleet.is_ready("c")
        assert fleet.is_ready("c")
        infra_pids = [info["pid"] for info in fleet.describe()["infra"].values()]
    assert all(gone(pid) for pid in infra_pids)
    assert children() == before
    assert list(private_tmp.iterdir()) == []


def test_external_infrastructure_is_used_and_left_running_without_our_proxies(
    write_manifest: WriteManifest, private_tmp: Path, tmp_path: Path
) -> None:
    # Someone else's servers: here a LocalProvider the test owns, reached by URL only.
    servers = LocalProvider(tmp_path / "theirs", toxiproxy_bin=str(TOXIPROXY_BIN))
    try:
        redis, toxiproxy = servers.redis("redis"), servers.toxiproxy()
        urls = {"redis": redis.url(), "toxiproxy": toxiproxy.api_url}
        manifest = {
            "version": 1,
            "infra": {"redis": {"kind": "redis"}},
            "services": {
                "c": standin_service("c", env={"DEPENDS": "BROKER_URL"}, broker={"infra": "redis"})
            },
        }
        with launch(
            write_manifest(manifest), provider="external", external=urls, temp_parent=private_tmp
        ) as fleet:
            edge = fleet.edges["c->redis"]
            assert edge.upstream == redis.endpoint
            assert fleet.toxiproxy_api == toxiproxy.api_url
            assert fleet.is_ready("c")
            with fleet.edge("c->redis").down():
                assert not fleet.is_ready("c")
        with ToxiproxyClient(toxiproxy.api_url) as client:
            assert client.proxies() == {}
        assert redis.process.running
        assert toxiproxy.process.running
        assert list(private_tmp.iterdir()) == []
    finally:
        servers.close()


def _ready_at(fleet: Fleet, name: str) -> float:
    service = fleet.services[name]
    assert service.started_after is not None
    assert service.ready_seconds is not None
    return service.started_after + service.ready_seconds


@pytest.mark.parametrize("link", ["calls", "requires"])
def test_a_caller_starts_without_waiting_for_its_callee(
    write_manifest: WriteManifest, private_tmp: Path, link: str
) -> None:
    # b is ready only once a listens: had a waited for b, neither would ever be ready.
    a_port = free_port()
    a_link: dict[str, Any] = (
        {"calls": {"b": {"env": "CALLEE_URL"}}} if link == "calls" else {"requires": ["b"]}
    )
    manifest = {
        "version": 1,
        "services": {
            "a": standin_service("a", port=a_port, **a_link),
            "b": standin_service(
                "b", env={"A_URL": f"http://127.0.0.1:{a_port}", "DEPENDS": "A_URL"}
            ),
        },
    }
    with launch(
        write_manifest(manifest), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=private_tmp
    ) as fleet:
        assert fleet.services["a"].started_after is not None
        assert fleet.services["a"].started_after < _ready_at(fleet, "b")
        assert fleet.is_ready("b")


def test_depends_on_still_waits_until_the_other_one_is_ready(
    write_manifest: WriteManifest, private_tmp: Path
) -> None:
    manifest = {
        "version": 1,
        "services": {"a": standin_service("a", depends_on=["b"]), "b": standin_service("b")},
    }
    with launch(write_manifest(manifest), proxied=False, temp_parent=private_tmp) as fleet:
        started = fleet.services["a"].started_after
        assert started is not None
        assert started >= _ready_at(fleet, "b")


@pytest.mark.postgres
def test_a_service_that_waits_for_infra_starts_while_its_database_boots(
    write_manifest: WriteManifest,
    private_tmp: Path,
    shared_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The order must not depend on how fast PostgreSQL boots on this machine: its server
    # binary is gated on a file that only the early service's start creates, so the server
    # can come up only after that service started, and the late one must still wait for it.
    real = find_bindir()
    gated = shared_tmp / "bin"
    gated.mkdir()
    (gated / "initdb").symlink_to(real / "initdb")  # initdb finds `postgres` beside its target
    gate_dir = shared_tmp / "gate"
    gate_dir.mkdir()
    for directory in (gate_dir, gated):
        directory.chmod(0o755)
    gate = gate_dir / "early-started"
    server = gated / "postgres"
    wait = f'while [ ! -e "{gate}" ]; do sleep 0.01; done'
    server.write_text(f'#!/bin/sh\n{wait}\nexec "{real / "postgres"}" "$@"\n')
    server.chmod(0o755)
    monkeypatch.setenv("HARNESS_POSTGRES_TEMPLATES", "off")  # no cache keyed by the gate
    early = standin_service("early", database={"infra": "pg", "name": "e"}, waits_for_infra=True)
    early.pop("module", None)
    early.pop("cwd", None)
    early["command"] = ["sh", "-c", f'touch "{gate}" && exec "{sys.executable}" "{STANDIN}"']
    manifest = {
        "version": 1,
        "infra": {"pg": {"kind": "postgres"}},
        "services": {
            "early": early,
            "late": standin_service("late", database={"infra": "pg", "name": "l"}),
        },
    }
    with launch(
        write_manifest(manifest),
        toxiproxy_bin=TOXIPROXY_BIN,
        temp_parent=private_tmp,
        infra=InfraConfig(postgres_bindir=gated),
    ) as fleet:
        server_up = fleet.timings["infra:pg"]
        started_early = fleet.services["early"].started_after
        started_late = fleet.services["late"].started_after
        assert started_early is not None
        assert started_late is not None
        assert started_early < server_up <= started_late
        # The fleet is ready only once the server is up, whoever started first.
        assert fleet.timings["infra"] == server_up
        assert fleet.timings["databases:pg"] > 0
        assert set(fleet.timings) >= {"toxiproxy", "proxies", "services"}
