"""The Docker engine as the docker provider sees it: is one there, how testcontainers is set
up, which run owns what, and removing what dead runs left.

Every container, network and volume the harness makes carries labels naming its run: the
host, the boot, and the pid and start time of the harness process (the run registry's own
identity, :mod:`harness.infra.runs`). A run is dead when its process is (same host and boot,
and that pid does not have that start time any more, or another boot). :func:`sweep_leftovers`
removes everything labelled with a dead run of this host; objects of live runs, and of other
hosts sharing the engine, are left alone. It runs when a docker provider starts and in
``harness fleet sweep``; each object is also recorded in the run's journal as it is made,
so the registry's sweep removes it by id.

Ryuk (testcontainers' reaper, an image pulled from Docker Hub) does the same for a crashed
process when it can run: :func:`configure_testcontainers` keeps it on when its image is
present or can be pulled, and turns it off otherwise (``TESTCONTAINERS_RYUK_DISABLED``, if
set, decides instead). The docker SDK and testcontainers are imported lazily: they are the
``docker`` extra, and a run that never asks for a container never pays for them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.errors import InfraError
from harness.infra import runs

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

__all__ = [
    "LABEL_RUN",
    "DockerSweep",
    "configure_testcontainers",
    "docker_client",
    "engine_problem",
    "remove_recorded",
    "run_labels",
    "sweep_if_engine",
    "sweep_leftovers",
]

LABEL_RUN = "org.harness.run"
LABEL_HOST = "org.harness.host"
LABEL_BOOT = "org.harness.boot"
LABEL_PID = "org.harness.pid"
LABEL_START = "org.harness.pid-start"
LABEL_KIND = "org.harness.kind"
_PING_TIMEOUT = 3.0
_API_TIMEOUT = 60

_lock = threading.Lock()
_client: docker.DockerClient | None = None
_configured = False


def engine_problem() -> str | None:
    """Why no Docker engine can be used from here (the extra missing, no daemon answering),
    or None when one answers."""
    try:
        import docker
        import testcontainers  # noqa: F401
    except ImportError as exc:
        return f"the docker provider needs the docker extra: pip install 'harness[docker]' ({exc})"
    try:
        client = docker.from_env(timeout=_PING_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # the SDK raises DockerException, requests' and OS errors alike
        where = os.environ.get("DOCKER_HOST") or "the default socket (/var/run/docker.sock)"
        return f"no Docker engine answers at {where}: {exc}"
    return None


def docker_client() -> docker.DockerClient:
    """One client per process (it is thread-safe: a connection pool)."""
    global _client
    with _lock:
        if _client is None:
            import docker

            try:
                _client = docker.from_env(timeout=_API_TIMEOUT)
                _client.ping()
            except Exception as exc:
                _client = None
                raise InfraError(f"no Docker engine answers: {exc}") from exc
        return _client


def configure_testcontainers(client: docker.DockerClient | None = None) -> None:
    """Settings testcontainers needs here, once per process; a user's own settings win.

    - Connection mode ``docker_host`` when the engine is local: testcontainers takes a
      machine with ``/.dockerenv`` for a container and would connect through the bridge
      gateway. (We publish our own ports on 127.0.0.1; Ryuk's port goes through this.)
    - Ryuk on when its image is present or pulls, off otherwise (no registry): then what
      we started is removed by our teardown and, after a crash, by :func:`sweep_leftovers`.
    """
    global _configured
    with _lock:
        if _configured:
            return
        _configured = True
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    host = os.environ.get("DOCKER_HOST", "")
    if testcontainers_config.connection_mode_override is None and (
        not host or host.startswith("unix://")
    ):
        testcontainers_config.connection_mode_override = ConnectionMode.docker_host
    user_said = "TESTCONTAINERS_RYUK_DISABLED" in os.environ or (
        "ryuk.disabled" in testcontainers_config.tc_properties
    )
    if user_said:
        return
    image = testcontainers_config.ryuk_image
    usable = _image_available(client or docker_client(), image)
    testcontainers_config.ryuk_disabled = not usable
    if not usable:
        log.info("Ryuk (%s) cannot be pulled: off; the harness removes what it starts", image)


def _image_available(client: docker.DockerClient, image: str) -> bool:
    import docker

    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError:
        return False
    try:
        client.images.pull(image)
        return True
    except docker.errors.APIError:
        return False


def _hostname() -> str:
    return socket.gethostname()


def run_labels(kind: str) -> dict[str, str]:
    """The labels of an object this process makes (``kind``: postgres, redis, network...)."""
    record = runs.current()
    boot = runs.boot_id()
    return {
        LABEL_RUN: f"{_hostname()}/{boot}/{record.pid}/{record.start}",
        LABEL_HOST: _hostname(),
        LABEL_BOOT: boot,
        LABEL_PID: str(record.pid),
        LABEL_START: record.start,
        LABEL_KIND: kind,
    }


def _run_is_dead(labels: Mapping[str, str]) -> bool | None:
    """True/False for a run of this host; None for another host's (never ours to judge)."""
    if labels.get(LABEL_HOST) != _hostname():
        return None
    if labels.get(LABEL_BOOT) != runs.boot_id():
        return True
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return True
    return runs.start_time(pid) != labels.get(LABEL_START)


@dataclass
class DockerSweep:
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    live_runs: int = 0

    def lines(self) -> list[str]:
        found = [f"  removed {what}" for what in self.removed]
        found += [f"  problem: {what}" for what in self.problems]
        return [
            *found,
            f"docker: {len(self.removed)} object(s) of dead runs removed, "
            f"{self.live_runs} live run(s) left alone",
        ]


def sweep_leftovers(client: docker.DockerClient | None = None) -> DockerSweep:
    """Remove the containers, then the networks and volumes, labelled with a dead run."""
    client = client or docker_client()
    report = DockerSweep()
    verdicts: dict[tuple[str, str], bool | None] = {}

    def judge(labels: Mapping[str, str]) -> bool:
        key = (labels.get(LABEL_HOST, ""), labels.get(LABEL_RUN, ""))
        if key not in verdicts:
            verdicts[key] = _run_is_dead(labels)
        return bool(verdicts[key])

    selector = {"label": LABEL_RUN}
    for container in client.containers.list(all=True, filters=selector):
        if judge(container.labels):
            _remove(report, f"container {container.name}", container.remove, force=True, v=True)
    for network in client.networks.list(filters=selector):
        if judge(network.attrs.get("Labels") or {}):
            _remove(report, f"network {network.name}", network.remove)
    for volume in client.volumes.list(filters=selector):
        if judge(volume.attrs.get("Labels") or {}):
            _remove(report, f"volume {volume.name}", volume.remove, force=True)
    report.live_runs = sum(1 for verdict in verdicts.values() if verdict is False)
    return report


def sweep_if_engine() -> DockerSweep | None:
    """:func:`sweep_leftovers` when a Docker engine answers (``harness fleet sweep``);
    None when there is none, or the docker extra is not installed: nothing to sweep."""
    if engine_problem() is not None:
        return None
    return sweep_leftovers()


def _remove(report: DockerSweep, what: str, action: Any, **kwargs: Any) -> None:
    import docker

    try:
        action(**kwargs)
        report.removed.append(what)
    except docker.errors.NotFound:
        pass  # someone else removed it meanwhile
    except docker.errors.APIError as exc:
        report.problems.append(f"could not remove {what}: {exc}")


def remove_recorded(entries: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """Remove objects a dead run recorded in its journal (by id); (removed, problems)."""
    report = DockerSweep()
    wanted = [entry for entry in entries if entry.get("engine") == "docker"]
    if not wanted:
        return [], []
    try:
        client = docker_client()
    except InfraError as exc:
        return [], [f"{len(wanted)} docker object(s) left: {exc}"]
    import docker

    order = {"container": 0, "network": 1, "volume": 2}
    for entry in sorted(wanted, key=lambda e: order.get(str(e.get("type", "container")), 0)):
        kind, ident = str(entry.get("type", "container")), str(entry.get("id"))
        collection = {
            "container": client.containers,
            "network": client.networks,
            "volume": client.volumes,
        }.get(kind, client.containers)
        try:
            found = collection.get(ident)
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as exc:
            report.problems.append(f"could not look up {kind} {ident}: {exc}")
            continue
        kwargs: dict[str, Any] = {"force": True, "v": True} if kind == "container" else {}
        if kind == "volume":
            kwargs = {"force": True}
        _remove(report, f"{kind} {ident[:12]}", found.remove, **kwargs)
    return report.removed, report.problems
