"""The docker provider: PostgreSQL, Redis and Toxiproxy as containers, through testcontainers.

One run = one provider = one Docker network of its own (``harness-<pid>-<token>``), which
PostgreSQL and Redis join under their infra names as aliases (``postgres:5432`` for a
container on that network). Their ports are published on 127.0.0.1 only, on ports chosen
before they start (as the local provider does, outside the ephemeral range), so
``prepare_*`` hands out final endpoints and URLs at once.

Toxiproxy runs in the host's network namespace, bound to 127.0.0.1: it fronts every edge
of the fleet exactly as the local provider's does, and the services of a fleet are host
processes bound to 127.0.0.1, which no container on a bridge network can reach. Its proxies
therefore listen on 127.0.0.1 and lead to the published ports of the database and broker.

Everything carries the run's labels (:mod:`harness.infra.docker_engine`) and is recorded in
the run's journal as it is made; ``close()`` removes the containers (with their volumes) and
the network, keeping each container's log in the provider's directory. A provider first
sweeps what dead runs left.

Images are configuration (``infra.postgres_image``, ``redis_image``, ``toxiproxy_image``):
by default those a user pulls (``postgres:16``, ``redis:7``,
``ghcr.io/shopify/toxiproxy:2.12.0``); a PostgreSQL image must honour the official image's
environment (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from harness.config import InfraConfig
from harness.errors import InfraError
from harness.infra import runs
from harness.infra.base import Endpoint
from harness.infra.docker_engine import (
    configure_testcontainers,
    docker_client,
    engine_problem,
    run_labels,
    sweep_leftovers,
)
from harness.infra.local_redis import ping
from harness.infra.local_toxiproxy import api_answers
from harness.infra.ports import free_port, port_open
from harness.infra.postgres import can_connect, create_database, postgres_url
from harness.infra.registry import ServerRegistry

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network

log = logging.getLogger(__name__)

__all__ = ["DockerPostgres", "DockerProvider", "DockerRedis", "DockerToxiproxy"]

LOOPBACK = "127.0.0.1"
_POSTGRES_USER = "harness"
_POLL = 0.02
_STATUS_EVERY = 0.5


class ContainerServer:
    """A server in a container: made (ports, names, credentials chosen) at once, started
    on demand, removed by :meth:`stop`. ``container_id`` is set once it is created."""

    kind = "server"
    container_port = 0

    def __init__(self, provider: DockerProvider, name: str, image: str) -> None:
        from testcontainers.core.container import DockerContainer

        self.name = name
        self.image = image
        self._provider = provider
        self.endpoint = Endpoint(LOOPBACK, free_port(LOOPBACK))
        self.container_name = f"{provider.prefix}-{name}"
        self.container: DockerContainer = DockerContainer(image)
        self.container_id: str | None = None
        self.log_path = provider.root / f"{self.kind}-{name}.log"

    @property
    def network_endpoint(self) -> Endpoint:
        """Where a container on the run's network reaches this server (its alias)."""
        return Endpoint(self.name, self.container_port)

    def _publish(self, labels: dict[str, str], network: Network | None) -> None:
        if network is not None:
            self.container.with_network(network).with_network_aliases(self.name)
        # 127.0.0.1 only, on the port chosen above (testcontainers' own helper has no host
        # address; the docker SDK takes (address, port)).
        ports: dict[str, Any] = self.container.ports
        ports[f"{self.container_port}/tcp"] = (LOOPBACK, self.endpoint.port)
        self.container.with_name(self.container_name).with_kwargs(labels=labels)

    def start(self, timeout: float = 60.0) -> None:
        self._provider.before_start(self)
        began = time.monotonic()
        try:
            self.container.start()
        except Exception as exc:  # the SDK's ImageNotFound / APIError, requests' errors
            if self.container._container is None:
                setting = f"infra.{self.kind}_image"
                raise InfraError(
                    f"{self.kind} container {self.container_name}: could not create it from "
                    f"image {self.image!r} ({exc}); pull or build that image, or set "
                    f"{setting} to one this engine has"
                ) from exc
            raise
        self.container_id = self.container.get_wrapped_container().id
        if self.container_id is not None:
            runs.current().add_container(self.container_id, "docker")
        self.wait_ready(timeout - (time.monotonic() - began))

    def ready(self) -> bool:
        raise NotImplementedError

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll :meth:`ready` every 20 ms; the container's state every 0.5 s (an API call),
        so a container that exited fails at once with its log."""
        deadline = time.monotonic() + max(timeout, 1.0)
        next_status = 0.0
        last: Exception | None = None
        while True:
            try:
                if self.ready():
                    return
            except Exception as exc:  # refused, reset, not yet accepting: try again
                last = exc
            now = time.monotonic()
            if now >= next_status:
                next_status = now + _STATUS_EVERY
                status = self._status()
                if status in ("exited", "dead", "removing"):
                    raise InfraError(
                        f"{self.kind} container {self.container_name} ({self.image}) "
                        f"{status} before it was ready\n{self.log_tail()}"
                    )
            if now >= deadline:
                raise InfraError(
                    f"{self.kind} container {self.container_name} ({self.image}) not ready "
                    f"after {timeout:.0f} s (last error: {last!r})\n{self.log_tail()}"
                )
            time.sleep(_POLL)

    def _status(self) -> str:
        try:
            wrapped = self.container.get_wrapped_container()
            wrapped.reload()
            return str(wrapped.status)
        except Exception:
            return "unknown"

    def logs(self) -> str:
        try:
            raw = self.container.get_wrapped_container().logs(stdout=True, stderr=True)
        except Exception as exc:
            return f"(no logs: {exc})"
        return bytes(raw).decode(errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])

    def stop(self) -> None:
        """Keep the log, remove the container (force) and its anonymous volumes."""
        if self.container._container is None:
            return
        self.log_path.write_text(self.logs())
        try:
            self.container.get_wrapped_container().remove(force=True, v=True)
        except Exception as exc:
            if "No such container" not in str(exc) and "404" not in str(exc):
                raise
        self.container._container = None
        if self.container_id is not None:
            runs.current().drop_container(self.container_id)

    def remove_data(self) -> None:
        """Data lives in the container's volume: it went with the container."""


class DockerPostgres(ContainerServer):
    kind = "postgres"
    container_port = 5432

    def __init__(self, provider: DockerProvider, name: str, image: str) -> None:
        super().__init__(provider, name, image)
        self.user = _POSTGRES_USER
        self.password = secrets.token_urlsafe(16)
        self.volume = f"{provider.prefix}-{name}-data"
        # Durability is not under test: fsync off, as the local provider; synchronous_commit
        # stays on (a killed server must not lose committed rows).
        self.container.with_command(["postgres", "-c", "fsync=off", "-c", "max_connections=200"])
        self.container.with_envs(
            POSTGRES_USER=self.user,
            POSTGRES_PASSWORD=self.password,
            POSTGRES_DB="postgres",
            # initdb's final sync of a fresh cluster is seconds on a busy disk, for nothing.
            POSTGRES_INITDB_ARGS="--no-sync",
        )
        # A named volume with our labels (an image's anonymous one would carry none).
        self.container.with_volume_mapping(self.volume, "/var/lib/postgresql/data", "rw")

    def url(self, database: str, endpoint: Endpoint | None = None) -> str:
        userinfo = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return postgres_url(userinfo, endpoint or self.endpoint, database)

    def create_database(self, name: str) -> None:
        create_database(self.url("postgres"), name)

    def ready(self) -> bool:
        # Port first: a refused connect costs microseconds, a session costs the server a fork.
        return port_open(LOOPBACK, self.endpoint.port) and can_connect(self.url("postgres"))

    def stop(self) -> None:
        super().stop()
        self._provider.remove_volume(self.volume)


class DockerRedis(ContainerServer):
    kind = "redis"
    container_port = 6379

    def __init__(self, provider: DockerProvider, name: str, image: str) -> None:
        super().__init__(provider, name, image)
        # Protected mode refuses clients from outside the container unless a password is
        # set; the published port and the run's network are what protect this one.
        self.container.with_command(
            ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
        )

    def url(self, endpoint: Endpoint | None = None) -> str:
        ep = endpoint or self.endpoint
        return f"redis://{ep.url_host}:{ep.port}/0"

    def ready(self) -> bool:
        return ping(self.endpoint)


class DockerToxiproxy(ContainerServer):
    kind = "toxiproxy"
    container_port = 8474

    def __init__(
        self, provider: DockerProvider, name: str, image: str, seed: int | None = None
    ) -> None:
        super().__init__(provider, name, image)
        # The host's network namespace: see the module's docstring. Bound to 127.0.0.1.
        # -proxy-metrics as the local provider: the fault matrix and fuzzing read them.
        argv = ["-host", LOOPBACK, "-port", str(self.endpoint.port), "-proxy-metrics"]
        if seed is not None:
            argv += ["-seed", str(seed)]
        self.container.with_command(argv)

    def _publish(self, labels: dict[str, str], network: Network | None) -> None:
        self.container.with_name(self.container_name).with_kwargs(labels=labels, network="host")

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.endpoint.port}"

    def ready(self) -> bool:
        return port_open(LOOPBACK, self.endpoint.port) and api_answers(self.api_url)


def _reaper_labels() -> dict[str, str]:
    """Testcontainers labels its containers and networks with its session; Ryuk, when it
    runs, removes everything so labelled once this process is gone: volumes too, if they
    carry it (we make ours with the SDK)."""
    from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID

    return {LABEL_SESSION_ID: SESSION_ID}


class DockerProvider:
    """Servers as containers; see the module's docstring. Thread-safe like the local one:
    the fleet boots PostgreSQL, Redis and Toxiproxy from several threads at once."""

    name = "docker"

    def __init__(self, workdir: Path, *, infra: InfraConfig | None = None) -> None:
        problem = engine_problem()
        if problem is not None:
            raise InfraError(problem)
        self.infra = infra or InfraConfig()
        self.client = docker_client()
        configure_testcontainers(self.client)
        swept = sweep_leftovers(self.client)
        for line in swept.removed:
            log.warning("swept what a dead harness run left: %s", line)
        workdir.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="infra-", dir=workdir))
        self.prefix = f"harness-{runs.current().pid}-{secrets.token_hex(3)}"
        self._network: Network | None = None
        self._volumes: list[str] = []
        self._registry: ServerRegistry[ContainerServer] = ServerRegistry(
            "DockerProvider", self._close_one
        )
        self._lock = threading.Lock()  # the network and the volumes
        self.close_errors: list[Exception] = []
        atexit.register(self.close)

    @property
    def servers(self) -> list[ContainerServer]:
        return self._registry.servers

    @property
    def network_name(self) -> str | None:
        return self._network.name if self._network is not None else None

    # --- the seam ------------------------------------------------------------------------

    def prepare_postgres(self, name: str = "postgres") -> DockerPostgres:
        return self._registry.get(
            f"postgres:{name}", self._new_postgres(name), DockerPostgres, start=False
        )

    def postgres(self, name: str = "postgres") -> DockerPostgres:
        return self._registry.get(f"postgres:{name}", self._new_postgres(name), DockerPostgres)

    def prepare_redis(self, name: str = "redis") -> DockerRedis:
        return self._registry.get(f"redis:{name}", self._new_redis(name), DockerRedis, start=False)

    def redis(self, name: str = "redis") -> DockerRedis:
        return self._registry.get(f"redis:{name}", self._new_redis(name), DockerRedis)

    def _new_postgres(self, name: str) -> Callable[[], ContainerServer]:
        return lambda: DockerPostgres(self, name, self.infra.postgres_image)

    def _new_redis(self, name: str) -> Callable[[], ContainerServer]:
        return lambda: DockerRedis(self, name, self.infra.redis_image)

    def toxiproxy(self) -> DockerToxiproxy:
        return self._registry.get(
            "toxiproxy",
            lambda: DockerToxiproxy(
                self, "toxiproxy", self.infra.toxiproxy_image, self.infra.toxiproxy_seed
            ),
            DockerToxiproxy,
        )

    # --- what the servers ask of their provider -------------------------------------------

    def before_start(self, server: ContainerServer) -> None:
        """The run's network and the server's volume exist, its labels are set."""
        network = None if isinstance(server, DockerToxiproxy) else self._ensure_network()
        if isinstance(server, DockerPostgres):
            self._make_volume(server.volume)
        server._publish(run_labels(server.kind), network)

    def _ensure_network(self) -> Network:
        from testcontainers.core.network import Network

        with self._lock:
            if self._network is None:
                # testcontainers adds its session label (which Ryuk reaps by) itself.
                network = Network(docker_network_kw={"labels": run_labels("network")})
                network.name = f"{self.prefix}-net"
                network.create()
                if network.id is not None:
                    runs.current().add_container(network.id, "docker", type="network")
                self._network = network
            return self._network

    def _make_volume(self, name: str) -> None:
        self.client.volumes.create(name=name, labels={**run_labels("volume"), **_reaper_labels()})
        runs.current().add_container(name, "docker", type="volume")
        with self._lock:
            self._volumes.append(name)

    def remove_volume(self, name: str) -> None:
        import docker

        with contextlib.suppress(docker.errors.NotFound):
            self.client.volumes.get(name).remove(force=True)
        runs.current().drop_container(name)
        with self._lock:
            if name in self._volumes:
                self._volumes.remove(name)

    # --- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Remove every container (together: each removal is a wait), then the network and
        any volume left; never raises (failures go to the log and ``close_errors``)."""
        if not self._registry.close("harness-docker-stop"):
            return
        atexit.unregister(self.close)
        for volume in list(self._volumes):
            self._attempt(f"remove volume {volume}", functools.partial(self.remove_volume, volume))
        network = self._network
        if network is not None:
            self._attempt(f"remove network {network.name}", network.remove)
            if network.id is not None:
                runs.current().drop_container(network.id)

    def _close_one(self, server: ContainerServer) -> None:
        self._attempt(f"remove {server.container_name}", server.stop)

    def _attempt(self, what: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as exc:  # teardown goes on; the failure is kept and logged
            self.close_errors.append(exc)
            log.warning("docker provider: %s failed: %s", what, exc)
