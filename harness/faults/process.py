"""Faults on a process (a service or an infra server): crash, freeze, restart, stop.

`ready`, when given, is called after the process is started again (by revert() of Kill and
Stop, by inject() of Restart) and should block until the process serves again, e.g.
`LocalPostgres.wait_ready` or the fleet's readiness probe.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.faults.base import ReversibleFault
from harness.infra.process import ManagedProcess

Ready = Callable[[], None]


class Kill(ReversibleFault):
    """SIGKILL to the process group (a crash: no shutdown, open transactions lost).
    revert() starts it again."""

    def __init__(self, process: ManagedProcess, *, ready: Ready | None = None) -> None:
        super().__init__()
        self.process = process
        self.ready = ready
        self.description = f"kill -9 {process.name}"

    def _inject(self) -> None:
        self.process.kill()

    def _revert(self) -> None:
        _start(self.process, self.ready)


class Stop(ReversibleFault):
    """A graceful stop (SIGTERM, SIGKILL after a grace period); revert() starts it again."""

    def __init__(
        self, process: ManagedProcess, *, ready: Ready | None = None, timeout: float = 5.0
    ) -> None:
        super().__init__()
        self.process = process
        self.ready = ready
        self.timeout = timeout
        self.description = f"stop {process.name}"

    def _inject(self) -> None:
        self.process.stop(self.timeout)

    def _revert(self) -> None:
        _start(self.process, self.ready)


class Pause(ReversibleFault):
    """SIGSTOP to the process group: connections stay open, nothing answers (a GC pause, a
    frozen VM). revert() sends SIGCONT."""

    def __init__(self, process: ManagedProcess) -> None:
        super().__init__()
        self.process = process
        self.description = f"pause {process.name} (SIGSTOP)"

    def _inject(self) -> None:
        self.process.pause()

    def _revert(self) -> None:
        if self.process.running:
            self.process.resume()


class Restart(ReversibleFault):
    """Stop and start again at once; there is nothing to revert."""

    def __init__(self, process: ManagedProcess, *, ready: Ready | None = None) -> None:
        super().__init__()
        self.process = process
        self.ready = ready
        self.description = f"restart {process.name}"

    def _inject(self) -> None:
        self.process.restart()
        if self.ready is not None:
            self.ready()

    def _revert(self) -> None:
        """A restart is over once inject() returns."""


def _start(process: ManagedProcess, ready: Ready | None) -> None:
    if not process.running:
        process.start()
    if ready is not None:
        ready()
