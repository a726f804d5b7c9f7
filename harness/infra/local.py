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
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from harness.infra.local_postgres import LocalPostgres, default_run_as
from harness.infra.local_redis import LocalRedis
from harness.infra.local_toxiproxy import LocalToxiproxy
from harness.infra.process import ManagedProcess
from harness.infra.registry import ServerRegistry

log = logging.getLogger(__name__)


class LocalServer(Protocol):
    process: ManagedProcess

    def start(self, timeout: float = ...) -> None: ...

    def stop(self) -> None: ...

    def remove_data(self) -> None: ...


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
        self._registry: ServerRegistry[LocalServer] = ServerRegistry(
            "LocalProvider", self._close_one
        )
        self.close_errors: list[Exception] = []
        # A safety net for callers that die before their own teardown runs.
        atexit.register(self.close)

    @property
    def servers(self) -> list[LocalServer]:
        """Servers in the order they were made, prepared or running (each has `.process`
        for process faults)."""
        return self._registry.servers

    def prepare_postgres(self, name: str = "postgres") -> LocalPostgres:
        """The server :meth:`postgres` starts, not started yet: its port and password are
        chosen, so its URLs are final."""
        return self._registry.get(
            f"postgres:{name}", self._new_postgres(name), LocalPostgres, start=False
        )

    def postgres(self, name: str = "postgres") -> LocalPostgres:
        return self._registry.get(f"postgres:{name}", self._new_postgres(name), LocalPostgres)

    def prepare_redis(self, name: str = "redis") -> LocalRedis:
        return self._registry.get(f"redis:{name}", self._new_redis(name), LocalRedis, start=False)

    def redis(self, name: str = "redis") -> LocalRedis:
        return self._registry.get(f"redis:{name}", self._new_redis(name), LocalRedis)

    def _new_postgres(self, name: str) -> Callable[[], LocalPostgres]:
        return lambda: LocalPostgres(
            name, self.root, bindir=self._postgres_bindir, run_as=default_run_as()
        )

    def _new_redis(self, name: str) -> Callable[[], LocalRedis]:
        return lambda: LocalRedis(name, self.root, binary=self._redis_bin)

    def toxiproxy(self) -> LocalToxiproxy:
        return self._registry.get(
            "toxiproxy",
            lambda: LocalToxiproxy(
                self.root, binary=self._toxiproxy_bin, seed=self._toxiproxy_seed
            ),
            LocalToxiproxy,
        )

    def close(self) -> None:
        # Together: the servers do not depend on each other, and each stop is a wait.
        if self._registry.close("harness-infra-stop"):
            atexit.unregister(self.close)

    def _close_one(self, server: LocalServer) -> None:
        for action in (server.stop, server.remove_data):
            try:
                action()
            except Exception as exc:  # teardown goes on; the failure is kept and logged
                self.close_errors.append(exc)
                log.warning("closing %s: %s failed: %s", server.process.name, action, exc)
