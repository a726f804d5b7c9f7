"""Process faults on real processes: a Python child, and real Redis and PostgreSQL servers."""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from harness.faults.base import Fault, applied
from harness.faults.process import Kill, Pause, Restart, Stop
from harness.infra.base import Endpoint
from harness.infra.local import LocalProvider
from harness.infra.local_redis import ping
from harness.infra.process import ManagedProcess
from harness.infra.zygote import SUPPORTED as zygote_supported
from harness.infra.zygote import Zygote, ZygoteChild

pytestmark = pytest.mark.slow

SLEEPER = "import time\nprint('up', flush=True)\ntime.sleep(120)"


@pytest.fixture(params=["plain", "zygote"])
def sleeper(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ManagedProcess]:
    """A service-like process: its own interpreter, or forked from a zygote (as a fleet's
    `module:` services are), where a restart must come back through the zygote too."""
    zygote: Zygote | None = None
    if request.param == "zygote":
        if not zygote_supported:
            pytest.skip("the zygote needs Linux")
        (tmp_path / "sleeper.py").write_text(SLEEPER)
        zygote = Zygote(["json"], cwd=tmp_path, env=os.environ, log_path=tmp_path / "z.log")
        zygote.start()
        argv = [sys.executable, "-m", "sleeper"]
    else:
        argv = [sys.executable, "-c", SLEEPER]
    proc = ManagedProcess(
        "inventory", argv, log_path=tmp_path / "inventory.log", cwd=tmp_path, launcher=zygote
    )
    proc.start()
    try:
        yield proc
        # Every start, restarts included, went the way the test asked for.
        assert isinstance(proc._popen, ZygoteChild) == (zygote is not None)
        assert "plain way" not in proc.log_tail(100)
    finally:
        proc.stop(timeout=1.0)
        if zygote is not None:
            zygote.close()


@pytest.fixture(scope="module")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    """Servers of our own: these tests crash and freeze them."""
    provider = LocalProvider(tmp_path_factory.mktemp("process-faults"))
    try:
        yield provider
    finally:
        provider.close()


def status(proc: ManagedProcess) -> str:
    assert proc.pid is not None
    return str(psutil.Process(proc.pid).status())


def eventually(condition: object, timeout: float = 5.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_every_process_fault_is_a_fault(sleeper: ManagedProcess) -> None:
    for fault in (Kill(sleeper), Pause(sleeper), Restart(sleeper), Stop(sleeper)):
        assert isinstance(fault, Fault)
        assert "inventory" in fault.description


def test_kill_crashes_and_revert_starts_again(sleeper: ManagedProcess) -> None:
    first = sleeper.pid
    readied: list[int | None] = []
    with Kill(sleeper, ready=lambda: readied.append(sleeper.pid)):
        assert not sleeper.running
        assert sleeper.returncode == -signal.SIGKILL
    assert sleeper.running
    assert sleeper.pid != first
    assert readied == [sleeper.pid]


def test_stop_is_graceful_and_revert_starts_again(sleeper: ManagedProcess) -> None:
    with applied(Stop(sleeper)):
        assert sleeper.returncode == -signal.SIGTERM
    assert sleeper.running


def test_pause_freezes_and_revert_continues(sleeper: ManagedProcess) -> None:
    with Pause(sleeper):
        eventually(lambda: status(sleeper) == psutil.STATUS_STOPPED)
    eventually(lambda: status(sleeper) != psutil.STATUS_STOPPED)


def test_restart_gives_a_new_process_and_waits_for_ready(sleeper: ManagedProcess) -> None:
    first = sleeper.pid
    readied: list[bool] = []
    fault = Restart(sleeper, ready=lambda: readied.append(sleeper.running))
    fault.inject()
    assert sleeper.pid != first
    assert readied == [True]
    fault.revert()
    assert sleeper.running


def test_a_paused_redis_stops_answering_until_resumed(infra: LocalProvider) -> None:
    server = infra.redis()
    assert ping(server.endpoint)
    with Pause(server.process), pytest.raises(TimeoutError):
        ping(server.endpoint, timeout=0.3)
    assert ping(server.endpoint)


def test_a_killed_redis_comes_back_on_the_same_port(infra: LocalProvider) -> None:
    server = infra.redis()
    with Kill(server.process, ready=server.wait_ready), pytest.raises(ConnectionRefusedError):
        ping(server.endpoint)
    assert ping(server.endpoint)


def postmaster_answers(endpoint: Endpoint, timeout: float) -> bool:
    """Send PostgreSQL's SSLRequest and read the one-byte answer ("S" or "N").

    A raw probe, because psycopg will not time out a connection attempt in under 2 s.
    """
    with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        return sock.recv(1) in (b"S", b"N")


def server_tree(proc: ManagedProcess) -> list[psutil.Process]:
    assert proc.pid is not None
    leader = psutil.Process(proc.pid)
    return [leader, *leader.children(recursive=True)]


def dead(proc: psutil.Process) -> bool:
    """Gone, or a zombie that this sandbox's init has not reaped yet."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.postgres
def test_a_killed_postgres_loses_no_committed_data(infra: LocalProvider) -> None:
    server = infra.postgres()
    server.create_database("crash")
    with psycopg.connect(server.url("crash"), autocommit=True) as conn:
        conn.execute("CREATE TABLE ledger (id int PRIMARY KEY)")
        conn.execute("INSERT INTO ledger VALUES (1), (2)")
    tree = server_tree(server.process)
    # PostgreSQL's children call setsid(): a kill of the process group alone would miss them.
    assert len(tree) > 3
    with Kill(server.process, ready=lambda: server.wait_ready(timeout=30)):
        assert [p.pid for p in tree if not dead(p)] == []
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url("crash"), connect_timeout=2)
    with psycopg.connect(server.url("crash")) as conn:
        assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (2,)
    assert "database system was interrupted" in server.process.log_tail(40)


@pytest.mark.postgres
def test_a_paused_postgres_freezes_every_backend(infra: LocalProvider) -> None:
    server = infra.postgres()
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        backend = psutil.Process(conn.info.backend_pid)
        with Pause(server.process):
            tree = server_tree(server.process)
            assert backend.pid in {p.pid for p in tree}
            # Signals are delivered asynchronously: wait until each process has taken it.
            eventually(lambda: {p.status() for p in tree} == {psutil.STATUS_STOPPED})
            with pytest.raises(TimeoutError):
                postmaster_answers(server.endpoint, timeout=0.3)
        assert postmaster_answers(server.endpoint, timeout=5)
        assert conn.execute("SELECT 1").fetchone() == (1,)
