"""Faults on a container (a service of a fleet run by the docker backend).

``docker stop`` and ``docker pause`` act through the container's process interface
(:class:`~harness.infra.containers.ContainerProcess`), so they are the process faults with
Docker's semantics: :func:`container_stop` (SIGTERM to the container, SIGKILL after the grace
period; revert: ``docker start``, awaited ready) and :func:`container_pause` (the cgroup
freezer; revert: ``docker unpause``). :class:`Disconnect` has no process counterpart: the
container leaves its network, so no peer, proxy or published port reaches it and it reaches
nothing (a network partition of one host); revert puts it back under the same names and
awaits it ready.
"""

from __future__ import annotations

from harness.faults.base import ReversibleFault
from harness.faults.process import Pause, Ready, Stop
from harness.infra.containers import ContainerProcess

__all__ = ["Disconnect", "container_pause", "container_stop"]


def container_stop(
    container: ContainerProcess, *, ready: Ready | None = None, timeout: float = 5.0
) -> Stop:
    fault = Stop(container, ready=ready, timeout=timeout)
    fault.description = f"docker stop {container.name}"
    return fault


def container_pause(container: ContainerProcess) -> Pause:
    fault = Pause(container)
    fault.description = f"docker pause {container.name}"
    return fault


class Disconnect(ReversibleFault):
    """The container off its network; revert connects it again (and awaits ``ready``)."""

    def __init__(self, container: ContainerProcess, *, ready: Ready | None = None) -> None:
        super().__init__()
        self.container = container
        self.ready = ready
        self.description = f"docker network disconnect {container.network.name} {container.name}"

    def _inject(self) -> None:
        self.container.disconnect()

    def _revert(self) -> None:
        self.container.connect()
        if self.ready is not None:
            self.ready()
