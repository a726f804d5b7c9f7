"""The docker fleet backend: every service a container on a network of its own run.

Where things run, and why (see ARCHITECTURE.md, "The fleet as containers"):

- each service is a container of its image (its own ``image:``, else the manifest's
  ``containers.image``) on a bridge network made for this fleet, named by the service there;
  its port is published on 127.0.0.1 (the same number inside and out), so the harness
  probes and calls it as it does a process;
- Toxiproxy stays where the infra provider runs it, on the host, and every proxy listens on
  the network's gateway address: the host's own address on that network, which its
  containers reach and nothing outside the host does. So every edge still goes through a
  proxy (container -> gateway:proxy -> the callee's published port, or the database and
  broker wherever the provider runs them), and any provider works: local servers on
  127.0.0.1 are reachable from Toxiproxy, not from the containers, which only ever see
  proxies. An unproxied fleet has no way from a container to the host's servers, so the
  backend needs Toxiproxy;
- the per-service directory (``${service_dir}``) and the SQLite directory are bind-mounted
  at the same paths, so a manifest's environment means the same in both backends.

Containers are made when the fleet starts a service and removed at teardown, with the
network; everything carries the run's labels and is recorded for the sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import FleetError, InputError
from harness.fleet.graph import EdgeKind
from harness.fleet.manifest import Manifest, ServiceSpec
from harness.fleet.templating import render_command
from harness.fleet.wiring import service_env
from harness.infra.containers import ContainerProcess, RunNetwork

if TYPE_CHECKING:
    from harness.fleet.lifecycle import Fleet, RunningService

__all__ = ["ContainerBackend", "container_of", "image_of"]

FLEET_LABEL = "org.harness.fleet"
SERVICE_LABEL = "org.harness.service"
# Services bind every address of their own network namespace: only the published port
# (on 127.0.0.1) and the run's network reach them.
_ANY = "0.0.0.0"


def image_of(manifest: Manifest, name: str) -> str:
    spec = manifest.services[name]
    if spec.image is not None:
        return spec.image
    if manifest.containers is None:
        raise InputError(
            f"service {name} has no `image:` and the manifest no `containers.image`: "
            "the docker fleet backend cannot run it"
        )
    return manifest.containers.image


def container_command(spec: ServiceSpec) -> list[str] | None:
    """The command in the container: a module runs with the image's ``python`` (on PATH);
    None runs the image's own command."""
    if spec.command:
        return list(spec.command)
    if spec.module is not None:
        return ["python", "-m", spec.module]
    return None


class ContainerBackend:
    """Runs a fleet's services as containers; the :class:`Fleet` calls it at three points:
    :meth:`open` (the network), :meth:`prepare` (a service's container) and :meth:`close`."""

    name = "docker"

    def __init__(self, manifest: Manifest) -> None:
        for name in manifest.services:
            image_of(manifest, name)  # every service has an image, checked before any start
        self.manifest = manifest
        self.network: RunNetwork | None = None
        self.processes: dict[str, ContainerProcess] = {}
        self._prepared: dict[str, RunningService] = {}

    def open(self, workdir: Path) -> None:
        # The work directory's name is unique (mkdtemp) and says which fleet it is.
        self.network = RunNetwork(workdir.name, {FLEET_LABEL: self.manifest.name})

    @property
    def gateway(self) -> str:
        if self.network is None:
            raise FleetError("the fleet's Docker network is not made yet")
        return self.network.gateway

    def create_all(self, fleet: Fleet, ports: Mapping[str, int]) -> None:
        """Create every service's container at once, before the first start: a create is
        most of a container's start cost, and the engine does them in parallel."""
        for name in self.manifest.services:
            self._prepared[name] = self._service(fleet, name, ports[name])
        with ThreadPoolExecutor(4, thread_name_prefix="harness-create") as pool:
            for done in [pool.submit(p.create) for p in self.processes.values()]:
                done.result()
        for process in self.processes.values():
            process.start_in_background = True

    def prepare(self, fleet: Fleet, name: str, port: int) -> RunningService:
        """The service ``name``, ready to start (its container made if not yet)."""
        prepared = self._prepared.pop(name, None)
        return prepared if prepared is not None else self._service(fleet, name, port)

    def _service(self, fleet: Fleet, name: str, port: int) -> RunningService:
        from harness.fleet.lifecycle import RunningService

        if self.network is None:
            raise FleetError("the fleet's Docker network is not made yet")
        manifest = self.manifest
        spec = manifest.services[name]
        service_dir = fleet.workdir / "services" / name
        service_dir.mkdir(parents=True, exist_ok=True)
        env = service_env(manifest, name, port, fleet.edges, fleet.infra, fleet.workdir)
        env[spec.host_env] = _ANY
        sqlite = fleet.workdir / "sqlite"
        command = container_command(spec)
        if command is not None:
            # {port}, {host} and {calls.NAME} as in a process's command line.
            calls = {
                wired.edge.target: env[wired.edge.env]
                for wired in fleet.edges.values()
                if wired.edge.source == name and wired.edge.kind is EdgeKind.HTTP
            }
            command = render_command(command, host=_ANY, port=port, calls=calls)
        process = ContainerProcess(
            name,
            image=image_of(manifest, name),
            command=command,
            env={"PYTHONUNBUFFERED": "1", **env},
            network=self.network,
            aliases=[name],
            ports={port: port},
            mounts={service_dir: str(service_dir), sqlite: str(sqlite)},
            labels={FLEET_LABEL: manifest.name, SERVICE_LABEL: name},
            working_dir=(
                manifest.containers.workdir
                if spec.image is None and manifest.containers is not None
                else None
            ),
            log_path=fleet.workdir / "logs" / f"{name}.log",
        )
        self.processes[name] = process
        return RunningService(name, spec, port, process, env)

    def close(self, problems: list[str]) -> None:
        """Remove every container, then the network; problems are appended, never raised."""
        for name, process in self.processes.items():
            _attempt(problems, f"remove the container of {name}", process.remove)
        self.processes.clear()
        if self.network is not None:
            _attempt(problems, f"remove the network {self.network.name}", self.network.remove)
            self.network = None


def container_of(fleet: Fleet, name: str) -> ContainerProcess:
    """The container behind service ``name``; a clear error on a fleet of processes."""
    process = fleet.service(name).process
    if not isinstance(process, ContainerProcess):
        raise FleetError(
            f"service {name} is a process, not a container: container faults need the "
            "docker fleet backend (--fleet-backend docker)"
        )
    return process


def _attempt(problems: list[str], what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as exc:  # teardown goes on; the problem is reported
        problems.append(f"{what}: {exc}")
