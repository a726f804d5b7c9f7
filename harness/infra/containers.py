"""Containers the harness runs itself (a fleet's services), behind the process interface.

A :class:`ContainerProcess` is a :class:`~harness.infra.process.ManagedProcess` whose process
is a container: ``start`` creates it (once) and starts it, ``stop`` is ``docker stop``,
``kill`` is ``docker kill`` (SIGKILL, a crash), ``pause``/``resume`` are ``docker
pause``/``unpause`` (the cgroup freezer: the whole container, as SIGSTOP to a tree would),
and :meth:`disconnect`/:meth:`connect` take it off its network and put it back. So every
process fault (:mod:`harness.faults.process`), the chaos rollback and the fleet's teardown
work on it unchanged. The container is kept across stops (as a process is started again
with the same command line) and removed by :meth:`remove`.

Its output is followed into ``log_path`` by a thread per start (the Docker log stream ends
when the container stops), so a service's log reads the same whichever way it runs.

Nothing leaks: each container and network carries the run's labels and is recorded in the
run registry (:mod:`harness.infra.runs`), whose sweep removes what a killed run left
(:func:`harness.infra.docker_engine.remove_recorded`), and whose labels let
:func:`~harness.infra.docker_engine.sweep_leftovers` find them too.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from docker.errors import DockerException as DockerError
from docker.errors import NotFound

from harness.errors import InfraError
from harness.infra import runs
from harness.infra.docker_engine import docker_client, run_labels
from harness.infra.process import ManagedProcess

__all__ = ["ContainerProcess", "RunNetwork"]

_STATE_TTL = 0.25


class RunNetwork:
    """A bridge network of one run: labelled, recorded, removed by :meth:`remove`."""

    def __init__(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        engine = docker_client()
        try:
            self._network = engine.networks.create(
                name, driver="bridge", labels={**run_labels("network"), **(labels or {})}
            )
        except DockerError as exc:
            raise InfraError(f"cannot create the Docker network {name}: {exc}") from exc
        runs.current().add_container(self._network.id or name, "docker", type="network")
        self.name = name
        self._network.reload()
        configs = self._network.attrs.get("IPAM", {}).get("Config") or [{}]
        gateway = configs[0].get("Gateway")
        if not gateway:
            self.remove()
            raise InfraError(f"Docker network {name} has no gateway address")
        # The host's own address on this network: containers reach host processes there.
        self.gateway: str = gateway

    @property
    def id(self) -> str:
        return str(self._network.id)

    def remove(self) -> None:
        with contextlib.suppress(NotFound):
            self._network.remove()
        runs.current().drop_container(self.id)


class ContainerProcess(ManagedProcess):
    """One container of ``image`` on ``network``, addressed as ``aliases`` there.

    ``ports`` maps a container port to a host port, published on 127.0.0.1 only;
    ``mounts`` maps a host directory to a path in the container (read-write).
    """

    def __init__(
        self,
        name: str,
        *,
        image: str,
        command: Sequence[str] | None,
        env: Mapping[str, str],
        network: RunNetwork,
        aliases: Sequence[str] = (),
        ports: Mapping[int, int] | None = None,
        mounts: Mapping[Path, str] | None = None,
        labels: Mapping[str, str] | None = None,
        working_dir: str | None = None,
        log_path: Path,
    ) -> None:
        super().__init__(
            name, list(command) if command else [f"({image} default command)"], log_path=log_path
        )
        self.image = image
        self.command = list(command) if command else None
        self.env = dict(env)
        self.network = network
        self.aliases = list(aliases) or [name]
        self.ports = dict(ports or {})
        self.mounts = dict(mounts or {})
        self.labels = {**run_labels("service"), **(labels or {})}
        self.working_dir = working_dir
        self._container: Any = None
        self._follower: threading.Thread | None = None
        self._disconnected = False
        self._state: str | None = None
        self._state_at = 0.0
        # The next start returns at once and the start itself runs in a thread (see start).
        self.start_in_background = False
        self._starting: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"ContainerProcess({self.name!r}, id={self.container_id}, state={self.state})"

    # --- state -------------------------------------------------------------------------------

    @property
    def container_id(self) -> str | None:
        return str(self._container.id)[:12] if self._container is not None else None

    @property
    def state(self) -> str:
        """Docker's status: created, running, paused, exited, ... ('absent' before start)."""
        if self._container is None:
            return "absent"
        # The fleet's readiness loop asks every few ms; an inspect per ask kept the engine
        # busy (on 2 cores, time the services' own start needed). A state a moment old is
        # good enough there; anything we do to the container forgets it (_fresh).
        now = time.monotonic()
        if self._state is not None and now - self._state_at < _STATE_TTL:
            return self._state
        try:
            self._container.reload()
        except NotFound:
            return "removed"
        except DockerError:
            return "unknown"
        self._state, self._state_at = str(self._container.status), now
        return self._state

    def _fresh(self) -> None:
        self._state = None

    @property
    def running(self) -> bool:
        starting = self._starting
        if starting is not None and starting.is_alive():
            return True  # started in the background, as a process is running once spawned
        # A paused container still runs (as a SIGSTOPped process does).
        return self.state in ("running", "paused")

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    @property
    def disconnected(self) -> bool:
        return self._disconnected

    @property
    def pid(self) -> int | None:
        if self._container is None or not self.running:
            return None
        pid = self._container.attrs.get("State", {}).get("Pid")
        return int(pid) if pid else None

    @property
    def returncode(self) -> int | None:
        if self._container is None or self.running:
            return None
        code = self._container.attrs.get("State", {}).get("ExitCode")
        return int(code) if code is not None else None

    # --- life ----------------------------------------------------------------------------------

    def _create(self) -> Any:
        engine = docker_client()
        endpoint = engine.api.create_endpoint_config(aliases=self.aliases)
        networking = engine.api.create_networking_config({self.network.name: endpoint})
        host_config = engine.api.create_host_config(
            port_bindings={port: ("127.0.0.1", host) for port, host in self.ports.items()},
            binds={str(host): {"bind": path, "mode": "rw"} for host, path in self.mounts.items()},
            network_mode=self.network.name,
            # docker-init as PID 1: the service gets SIGTERM's default action (a process
            # that is PID 1 ignores it) and zombies are reaped, as on the host.
            init=True,
        )
        try:
            created = engine.api.create_container(
                self.image,
                command=self.command,
                name=f"{self.network.name}-{self.name}",
                environment=self.env,
                labels=self.labels,
                ports=list(self.ports),
                working_dir=self.working_dir,
                host_config=host_config,
                networking_config=networking,
            )
        except DockerError as exc:
            raise InfraError(
                f"{self.name}: cannot create a container of {self.image}: {exc}"
            ) from exc
        container = engine.containers.get(created["Id"])
        runs.current().add_container(str(container.id), "docker")
        return container

    def create(self) -> None:
        """Create the container without starting it (a start is then quicker); idempotent."""
        with self._lock:
            if self._container is None:
                self._container = self._create()

    def start(self) -> None:
        with self._lock:
            if self.running:
                raise InfraError(f"{self.name} is already running ({self.container_id})")
            if self._container is None:
                self._container = self._create()
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S")
                log.write(
                    f"--- harness {stamp}: start container {self.container_id} "
                    f"({self.image})\n".encode()
                )
            if self.start_in_background:
                # Used once, by the fleet's boot: `docker start` takes about a second (network
                # namespace, published port), and a fleet's starts need not queue up.
                self.start_in_background = False
                self._starting = threading.Thread(
                    target=self._start_now, args=(False,), name=f"start-{self.name}", daemon=True
                )
                self._starting.start()
                return
            self._start_now(True)

    def _start_now(self, raising: bool) -> None:
        began = time.time()
        self._fresh()
        try:
            self._container.start()
        except DockerError as exc:
            if raising:
                raise InfraError(f"{self.name}: cannot start its container: {exc}") from exc
            self._note(f"cannot start the container: {exc}")
            return
        self._fresh()
        # How long the engine took (network namespace, published port): on a busy machine
        # it is seconds, and it counts against the service's ready_timeout.
        self._note(f"container started in {time.time() - began:.2f} s")
        self._follow(began)

    def _note(self, text: str) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"--- harness: {text}\n".encode())

    def _follow(self, since: float) -> None:
        container = self._container

        def copy() -> None:
            try:
                stream = container.logs(stream=True, follow=True, since=since - 1)
                with self.log_path.open("ab") as log:
                    for chunk in stream:
                        log.write(chunk)
                        log.flush()
            except (DockerError, OSError, ValueError):
                return  # the container went away: its log ends here

        self._follower = threading.Thread(target=copy, name=f"logs-{self.name}", daemon=True)
        self._follower.start()

    def stop(self, timeout: float = 5.0) -> None:
        """``docker stop``: SIGTERM, SIGKILL after ``timeout`` s; idempotent. A paused
        container is thawed first (Docker would not deliver the signal otherwise)."""
        with self._lock:
            if not self.running:
                return
            if self.paused:
                self._call("unpause", self._container.unpause)
            self._call("stop", lambda: self._container.stop(timeout=max(1, round(timeout))))
            self._drain()

    def kill(self) -> None:
        """``docker kill`` (SIGKILL to the whole container), as a crash would."""
        with self._lock:
            if not self.running:
                return
            self._call("kill", self._container.kill)
            self._container.wait(timeout=10)
            self._fresh()
            self._drain()

    def pause(self) -> None:
        with self._lock:
            if not self.running:
                raise InfraError(f"{self.name} is not running; cannot pause it")
            self._call("pause", self._container.pause)

    def resume(self) -> None:
        with self._lock:
            if self.paused:
                self._call("unpause", self._container.unpause)

    def disconnect(self) -> None:
        """Off its network: no peer, no proxy and no published port reaches it."""
        with self._lock:
            if self._disconnected:
                return
            self._call(
                "disconnect",
                lambda: docker_client().api.disconnect_container_from_network(
                    self._container.id, self.network.name
                ),
            )
            self._disconnected = True

    def connect(self) -> None:
        """Back on its network with the same names."""
        with self._lock:
            if not self._disconnected:
                return
            self._call(
                "connect",
                lambda: docker_client().api.connect_container_to_network(
                    self._container.id, self.network.name, aliases=self.aliases
                ),
            )
            self._disconnected = False

    def log_tail(self, lines: int = 20) -> str:
        tail = super().log_tail(lines)
        if tail or self._container is None:
            return tail
        try:
            data = self._container.logs(tail=lines)
        except DockerError:
            return ""
        return bytes(data).decode("utf-8", "replace")

    def remove(self) -> None:
        """Remove the container (stopped or not); idempotent."""
        with self._lock:
            container, self._container = self._container, None
            if container is None:
                return
            try:
                container.remove(force=True)
            except NotFound:
                pass
            except DockerError as exc:
                raise InfraError(f"{self.name}: cannot remove container: {exc}") from exc
            runs.current().drop_container(str(container.id))
            self._drain()

    def _call(self, what: str, action: Any) -> None:
        if self._container is None:
            raise InfraError(f"{self.name}: no container to {what}")
        self._fresh()
        try:
            action()
        except DockerError as exc:
            raise InfraError(f"{self.name}: docker {what} failed: {exc}") from exc
        finally:
            self._fresh()

    def _drain(self) -> None:
        # The log stream ends with the container; let its last lines reach the file.
        follower = self._follower
        if follower is not None:
            follower.join(timeout=2)
