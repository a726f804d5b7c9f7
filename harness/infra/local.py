"""The embedded default provider: real servers from the machine's packages, as child processes.

Everything lives in one fresh directory under `workdir` (`infra-XXXX/`): a log per server
and its data. `close()` stops the servers and deletes their data but keeps the logs, which
are what one reads after a failed run.

The methods are thread-safe, so a fleet may boot PostgreSQL (the slow one: initdb) in a
thread while Redis and Toxiproxy start. ``prepare_*`` hands out a server before it runs
(its port and credentials are chosen when it is made), so the fleet can wire proxies and
services to it while it boots.
"""

from __future__ import annotations

import atexit
import logging
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from harness.errors import InfraError
from harness.infra.local_postgres import LocalPostgres, default_run_as
from harness.infra.local_redis import LocalRedis
from harness.infra.local_toxiproxy import LocalToxiproxy
from harness.infra.process import ManagedProcess

log = logging.getLogger(__name__)


class LocalServer(Protocol):
    process: ManagedProcess

    def start(self, timeout: float = ...) -> None: ...

    def stop(self) -> None: ...

    def remove_data(self) -> None: ...


_S = TypeVar("_S", bound=LocalServer)


class LocalProvider:
    name = "local"

    def __init__(
        self,
        workdir: Path,
        *,
        toxiproxy_bin: str | None = None,
        toxiproxy_seed: int | None = None,
        postgres_bindir: Path | None = None,
        redis_bin: str | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="infra-", dir=workdir))
        # mkdtemp makes it 0700; the PostgreSQL user (when we are root) must get through it
        # to keep its cluster here rather than in the system temp dir.
        self.root.chmod(0o711)
        self._toxiproxy_bin = toxiproxy_bin
        self._toxiproxy_seed = toxiproxy_seed
        self._postgres_bindir = postgres_bindir
        self._redis_bin = redis_bin
        self._started: list[LocalServer] = []
        self._by_key: dict[str, LocalServer] = {}
        self._running: set[str] = set()
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.close_errors: list[Exception] = []
        # A safety net for callers that die before their own teardown runs.
        atexit.register(self.close)

    @property
    def servers(self) -> list[LocalServer]:
        """Servers in the order they were made, prepared or running (each has `.process`
        for process faults)."""
        with self._lock:
            return list(self._started)

    def prepare_postgres(self, name: str = "postgres") -> LocalPostgres:
        """The server :meth:`postgres` starts, not started yet: its port and password are
        chosen, so its URLs are final."""
        return self._get_or_create(f"postgres:{name}", self._new_postgres(name), LocalPostgres)

    def postgres(self, name: str = "postgres") -> LocalPostgres:
        return self._get_or_start(f"postgres:{name}", self._new_postgres(name), LocalPostgres)

    def prepare_redis(self, name: str = "redis") -> LocalRedis:
        return self._get_or_create(f"redis:{name}", self._new_redis(name), LocalRedis)

    def redis(self, name: str = "redis") -> LocalRedis:
        return self._get_or_start(f"redis:{name}", self._new_redis(name), LocalRedis)

    def _new_postgres(self, name: str) -> Callable[[], LocalPostgres]:
        return lambda: LocalPostgres(
            name, self.root, bindir=self._postgres_bindir, run_as=default_run_as()
        )

    def _new_redis(self, name: str) -> Callable[[], LocalRedis]:
        return lambda: LocalRedis(name, self.root, binary=self._redis_bin)

    def toxiproxy(self) -> LocalToxiproxy:
        return self._get_or_start(
            "toxiproxy",
            lambda: LocalToxiproxy(
                self.root, binary=self._toxiproxy_bin, seed=self._toxiproxy_seed
            ),
            LocalToxiproxy,
        )

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            servers = list(reversed(self._started))
            self._started.clear()
        atexit.unregister(self.close)
        if not servers:
            return
        # Together: the servers do not depend on each other, and each stop is a wait.
        with ThreadPoolExecutor(len(servers), thread_name_prefix="harness-infra-stop") as pool:
            list(pool.map(self._close_one, servers))

    def _close_one(self, server: LocalServer) -> None:
        for action in (server.stop, server.remove_data):
            try:
                action()
            except Exception as exc:  # teardown goes on; the failure is kept and logged
                self.close_errors.append(exc)
                log.warning("closing %s: %s failed: %s", server.process.name, action, exc)

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            if self._closed:
                raise InfraError("this LocalProvider is closed")
            return self._key_locks.setdefault(key, threading.Lock())

    def _create(self, key: str, factory: Callable[[], _S], kind: type[_S]) -> _S:
        """The server under ``key``, made (not started) if need be; hold its key lock."""
        existing = self._by_key.get(key)
        if existing is not None:
            assert isinstance(existing, kind)
            return existing
        server = factory()
        with self._lock:
            # Listed from now on: close() removes the data a prepared server already made.
            self._started.append(server)
        self._by_key[key] = server
        return server

    def _get_or_create(self, key: str, factory: Callable[[], _S], kind: type[_S]) -> _S:
        with self._key_lock(key):
            return self._create(key, factory, kind)

    def _get_or_start(self, key: str, factory: Callable[[], _S], kind: type[_S]) -> _S:
        with self._key_lock(key):
            server = self._create(key, factory, kind)
            if key in self._running:
                return server
            try:
                server.start()
            except BaseException:
                # Forgotten: asking again makes a fresh server.
                with self._lock:
                    if server in self._started:
                        self._started.remove(server)
                del self._by_key[key]
                server.stop()
                server.remove_data()
                raise
            self._running.add(key)
            return server
