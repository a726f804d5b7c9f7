"""LocalProvider: real PostgreSQL, Redis and Toxiproxy processes from the machine's packages."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
import redis

from harness.config import load_config
from harness.errors import InfraError
from harness.faults.toxiproxy import ToxiproxyClient
from harness.infra.base import InfraProvider, PostgresServer, RedisServer, ToxiproxyServer
from harness.infra.local import LocalProvider
from harness.infra.ports import free_port
from harness.infra.providers import make_provider

pytestmark = pytest.mark.slow


def listening_ips(pid: int) -> set[str]:
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return {
        conn.laddr.ip
        for proc in procs
        for conn in proc.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    }


def group_pids(pid: int) -> list[int]:
    return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.postgres
def test_the_provider_and_its_servers_satisfy_the_protocols(local_infra: LocalProvider) -> None:
    assert isinstance(local_infra, InfraProvider)
    assert isinstance(local_infra.postgres(), PostgresServer)
    assert isinstance(local_infra.redis(), RedisServer)
    assert isinstance(local_infra.toxiproxy(), ToxiproxyServer)
    assert local_infra.name == "local"


@pytest.mark.postgres
def test_postgres_creates_databases_that_work_through_url(local_infra: LocalProvider) -> None:
    server = local_infra.postgres()
    name = f"t_{uuid.uuid4().hex[:10]}"
    server.create_database(name)
    server.create_database(name)  # idempotent
    url = server.url(name)
    assert url.startswith(f"postgresql://harness:{server.password}@127.0.0.1:")
    assert url.endswith(f":{server.endpoint.port}/{name}")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, status text)")
        conn.execute("INSERT INTO orders VALUES (1, 'PENDING')")
        assert conn.execute("SELECT current_database(), status FROM orders").fetchone() == (
            name,
            "PENDING",
        )


@pytest.mark.postgres
def test_postgres_requires_the_password_over_tcp(local_infra: LocalProvider) -> None:
    server = local_infra.postgres()
    wrong = server.url("postgres").replace(server.password, "wrong")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)


@pytest.mark.postgres
def test_postgres_url_can_send_a_client_through_a_toxiproxy_proxy(
    local_infra: LocalProvider,
) -> None:
    server = local_infra.postgres()
    with ToxiproxyClient(local_infra.toxiproxy().api_url) as client:
        proxy = client.create_proxy(
            f"test_{uuid.uuid4().hex[:8]}__postgres",
            f"127.0.0.1:{free_port()}",
            server.endpoint.address,
        )
        try:
            url = server.url("postgres", proxy.listen_endpoint)
            assert f":{proxy.listen_endpoint.port}/postgres" in url
            with psycopg.connect(url) as conn:
                # The server sees the proxy's connection; we only care that it works.
                assert conn.execute("SELECT 41 + 1").fetchone() == (42,)
        finally:
            client.delete_proxy(proxy.name)


def test_redis_answers_ping_through_its_url(local_infra: LocalProvider) -> None:
    server = local_infra.redis()
    assert server.url() == f"redis://127.0.0.1:{server.endpoint.port}/0"
    client = redis.Redis.from_url(server.url())
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_toxiproxy_api_answers_version(local_infra: LocalProvider) -> None:
    server = local_infra.toxiproxy()
    assert server.api_url == f"http://127.0.0.1:{server.endpoint.port}"
    response = httpx.get(f"{server.api_url}/version", headers={"User-Agent": "test"})
    assert response.status_code == 200
    assert "version" in response.json()


@pytest.mark.postgres
def test_every_server_listens_on_loopback_only(local_infra: LocalProvider) -> None:
    for server in (local_infra.postgres(), local_infra.redis(), local_infra.toxiproxy()):
        pid = server.process.pid
        assert pid is not None
        assert listening_ips(pid) == {"127.0.0.1"}


def test_asking_twice_gives_the_same_server(local_infra: LocalProvider) -> None:
    assert local_infra.redis() is local_infra.redis()
    assert local_infra.toxiproxy() is local_infra.toxiproxy()


@pytest.mark.postgres
def test_close_stops_every_process_and_keeps_the_logs(tmp_path: Path) -> None:
    keep = tmp_path / "user-file.txt"
    keep.write_text("not ours")
    provider = LocalProvider(tmp_path)
    postgres = provider.postgres()
    redis_server = provider.redis()
    toxiproxy = provider.toxiproxy()
    pids = [
        pid
        for server in (postgres, redis_server, toxiproxy)
        for pid in group_pids(server.process.pid or 0)
    ]
    assert len(pids) > 3  # PostgreSQL's own helpers are in there too
    assert all(alive(pid) for pid in pids)

    provider.close()

    assert [pid for pid in pids if alive(pid)] == []
    assert keep.read_text() == "not ours"
    logs = sorted(path.name for path in provider.root.glob("*.log"))
    assert logs == ["postgres.log", "redis.log", "toxiproxy.log"]
    assert "ready to accept connections" in (provider.root / "postgres.log").read_text()
    assert not postgres.data_root.exists()
    assert not redis_server.data_root.exists()
    assert provider.close_errors == []
    provider.close()  # idempotent
    with pytest.raises(InfraError, match="closed"):
        provider.redis()


def test_a_missing_toxiproxy_binary_names_the_path(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path, toxiproxy_bin=str(tmp_path / "nope" / "toxiproxy-server"))
    try:
        with pytest.raises(InfraError, match=r"nope/toxiproxy-server \(infra.toxiproxy_bin\)"):
            provider.toxiproxy()
        assert provider.servers == []
    finally:
        provider.close()


def test_no_toxiproxy_anywhere_lists_everything_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    provider = LocalProvider(tmp_path)
    try:
        with pytest.raises(InfraError) as caught:
            provider.toxiproxy()
    finally:
        provider.close()
    message = str(caught.value)
    for tried in ("infra.toxiproxy_bin", "HARNESS_TOXIPROXY_BIN", ".tools/bin/toxiproxy-server"):
        assert tried in message


def test_the_toxiproxy_env_variable_is_used_and_checked(tmp_path: Path) -> None:
    # Read by the configuration (the only reader of HARNESS_*), handed down typed.
    config = load_config(start=tmp_path, environ={"HARNESS_TOXIPROXY_BIN": "missing"})
    assert config.infra.toxiproxy_bin is not None
    assert config.infra.toxiproxy_bin.name == "missing"
    provider = make_provider("local", tmp_path, infra=config.infra)
    try:
        with pytest.raises(InfraError, match=r"missing \(infra.toxiproxy_bin\)"):
            provider.toxiproxy()
    finally:
        provider.close()


@pytest.fixture
def failing_bindir() -> Iterator[Path]:
    """A PostgreSQL bindir whose initdb fails; outside pytest's private tmp dirs, because
    as root the `postgres` user must be able to run it."""
    bindir = Path(tempfile.mkdtemp(prefix="harness-fake-pg-"))
    bindir.chmod(0o755)
    initdb = bindir / "initdb"
    initdb.write_text("#!/bin/sh\necho 'initdb: could not create directory: disk full'\nexit 1\n")
    initdb.chmod(0o755)
    try:
        yield bindir
    finally:
        shutil.rmtree(bindir)


def test_a_failing_initdb_is_an_infra_error_with_its_output(
    tmp_path: Path, failing_bindir: Path
) -> None:
    provider = LocalProvider(tmp_path, postgres_bindir=failing_bindir)
    try:
        with pytest.raises(InfraError) as caught:
            provider.postgres()
        assert provider.servers == []
    finally:
        provider.close()
    message = str(caught.value)
    assert "initdb failed with code 1" in message
    assert "\ninitdb: could not create directory: disk full" in message


def test_concurrent_requests_start_one_server(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            servers = list(pool.map(lambda _: provider.redis(), range(4)))
        assert all(server is servers[0] for server in servers)
        assert len(provider.servers) == 1
    finally:
        provider.close()


def test_a_cluster_lives_in_memory_when_a_tmpfs_has_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.infra import local_postgres

    if local_postgres._memory_dir() is None:
        pytest.skip("no writable tmpfs with room on this machine")
    run_as = local_postgres.default_run_as()
    in_memory = local_postgres.LocalPostgres("mem", tmp_path, run_as=run_as)
    try:
        assert in_memory.data_root.parent == Path("/dev/shm")
        # Recorded: a killed run's cluster is swept like its work directory.
        assert in_memory._outside_root
    finally:
        in_memory.remove_data()
    assert not in_memory.data_root.exists()

    # No tmpfs with that much room: the cluster stays on disk, beside its log or in the
    # system temp dir.
    monkeypatch.setattr(local_postgres, "_MEMORY_DIR_ROOM", 1 << 62)
    on_disk = local_postgres.LocalPostgres("disk", tmp_path, run_as=run_as)
    try:
        assert Path("/dev/shm") not in on_disk.data_root.parents
    finally:
        on_disk.remove_data()
