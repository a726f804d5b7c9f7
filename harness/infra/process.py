"""One supervised OS process: started in its own process group, signalled as a tree.

Signalling the group rather than the pid is what makes teardown complete: uvicorn
workers and shell wrappers fork, and a SIGKILL to the leader alone would orphan them.
The group is not enough for every server: PostgreSQL's children call setsid() and leave
it, so kill, pause and the SIGKILL escalation also signal every descendant, found while
the leader is frozen (so nothing forks in between). That makes a crash (SIGKILL) or a
freeze (SIGSTOP) hit the whole server at once, as a machine failure would.

Nothing outlives the harness, however it dies: every child gets a parent-death signal
(:mod:`harness.infra.lifeline`) and is recorded, with its start time, in the run registry
(:mod:`harness.infra.runs`), whose sweep removes what a killed run left.

A process may have a ``launcher`` (:class:`Launcher`), which starts it another way than a
fresh ``exec``: the zygote (:mod:`harness.infra.zygote`) forks ``python -m`` services
from one process that has imported their shared modules already. Whatever the launcher
cannot start, or when it is gone, starts the plain way; everything else (groups, signals,
the registry, the log) is the same for both.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

import psutil

from harness.errors import InfraError
from harness.infra import lifeline, runs

_TAIL_BYTES = 64 * 1024
_POLL = 0.02
_HALTED = (
    psutil.STATUS_STOPPED,
    psutil.STATUS_TRACING_STOP,
    psutil.STATUS_ZOMBIE,
    psutil.STATUS_DEAD,
)


class Child(Protocol):
    """A started process as ManagedProcess sees it: a ``subprocess.Popen`` or a launcher's
    handle (its exit status known to whoever reaps it)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class LaunchRefused(InfraError):
    """A launcher cannot start this process (the process then starts the plain way)."""


class Launcher(Protocol):
    def launch(self, process: ManagedProcess) -> Child:
        """Start ``process`` (its argv, env, cwd; output appended to its log) in its own
        session, dying with us; :class:`LaunchRefused` when it cannot."""
        ...


class ManagedProcess:
    """A child process with its output appended to `log_path`.

    `env` replaces the environment (as in `subprocess`); None inherits ours. `user` runs the
    process as that system user (we must be root or that user). `stop_signal` is what
    `stop()` sends first: SIGTERM by default; PostgreSQL wants SIGINT ("fast" shutdown),
    because on SIGTERM it waits for every client to disconnect. `pass_fds` are kept open in
    the child (as in `subprocess`). `launcher`, when set, is asked first to start it.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        pass_fds: Sequence[int] = (),
        launcher: Launcher | None = None,
    ) -> None:
        if not argv:
            raise ValueError("argv must name a program")
        self.name = name
        self.argv: tuple[str, ...] = tuple(argv)
        self.env: dict[str, str] | None = dict(env) if env is not None else None
        self.cwd = cwd
        self.log_path = log_path
        self.user = user
        self.stop_signal = stop_signal
        self.pass_fds = tuple(pass_fds)
        self.launcher = launcher
        self._popen: Child | None = None
        # The start time the run registry knows the current process by.
        self._registered: str | None = None
        # Faults and teardown may act from different threads (a chaos timeline, Ctrl-C).
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid}, running={self.running})"

    @property
    def pid(self) -> int | None:
        """Pid of the current (or last) process, None if never started."""
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """Exit status once exited (negative: killed by that signal); None while running."""
        return self._popen.poll() if self._popen is not None else None

    def start(self) -> None:
        with self._lock:
            if self.running:
                raise InfraError(f"{self.name} is already running (pid {self.pid})")
            uid, gid, groups = _identity(self.user)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S")
                log.write(f"--- harness {stamp}: start {shlex.join(self.argv)}\n".encode())
                log.flush()
                self._popen = self._launched(log) if self.launcher and uid is None else None
                if self._popen is None:
                    self._popen = self._spawn(log, uid, gid, groups)
            self._registered = runs.current().add_process(self._popen.pid, self.name)

    def _launched(self, log: BinaryIO) -> Child | None:
        """The launcher's child; None (and a line in the log saying why) if it refused."""
        assert self.launcher is not None
        try:
            return self.launcher.launch(self)
        except LaunchRefused as exc:
            log.write(f"--- harness: {exc}; started the plain way\n".encode())
            log.flush()
            return None

    def _spawn(
        self, log: BinaryIO, uid: int | None, gid: int | None, groups: list[int] | None
    ) -> Child:
        arm = lifeline.die_with_parent()
        try:
            return lifeline.spawn(
                lambda: subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    start_new_session=True,
                    user=uid,
                    group=gid,
                    extra_groups=groups,
                    pass_fds=self.pass_fds,
                    # Safe with threads here: arm() takes no lock (one prctl call).
                    preexec_fn=arm,  # noqa: PLW1509
                )
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise InfraError(f"{self.name}: cannot run {self.argv[0]}: {exc}") from exc

    def stop(self, timeout: float = 5.0) -> None:
        """Graceful stop, SIGKILL to the whole tree after `timeout` s; idempotent."""
        with self._lock:
            popen = self._popen
            if popen is None:
                return
            tree = _Tree(popen)
            tree.collect()
            gone = True
            if tree.alive():
                # The stop signal goes to the group only: a leader like PostgreSQL's
                # postmaster shuts its own children down in order.
                _signal_group(popen.pid, self.stop_signal)
                # A stopped (paused) process keeps the signal pending until it continues.
                tree.signal(signal.SIGCONT)
                if not tree.wait_gone(timeout):
                    tree.kill()
                    gone = tree.wait_gone(timeout)
            popen.wait()
            if gone:
                self._forget(popen)

    def kill(self) -> None:
        """SIGKILL the whole tree, as a crash would; the process is reaped."""
        with self._lock:
            popen = self._popen
            if popen is None:
                return
            tree = _Tree(popen)
            tree.kill()
            gone = tree.wait_gone(5.0)
            popen.wait()
            if gone:
                self._forget(popen)

    def pause(self) -> None:
        """SIGSTOP the tree: connections stay open and nothing answers."""
        with self._lock:
            tree = _Tree(self._running_popen(signal.SIGSTOP))
            tree.freeze_leader()
            tree.collect()
            tree.signal(signal.SIGSTOP)

    def resume(self) -> None:
        with self._lock:
            tree = _Tree(self._running_popen(signal.SIGCONT))
            tree.collect()
            tree.signal(signal.SIGCONT)

    def restart(self) -> None:
        with self._lock:
            self.stop()
            self.start()

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines of the log ('' if there is none yet)."""
        try:
            with self.log_path.open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(0, size - _TAIL_BYTES))
                data = log.read()
        except FileNotFoundError:
            return ""
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def wait_until(
        self, check: Callable[[], bool], timeout: float, interval: float = 0.05, what: str = ""
    ) -> None:
        """Poll `check` until it returns True; InfraError on timeout or if the process exits.

        An exception from `check` counts as "not yet" (a refused connection while the server
        boots); the last one is quoted in the error.
        """
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            if not self.running:
                state = (
                    "was never started"
                    if self._popen is None
                    else f"exited with code {self.returncode}"
                )
                raise InfraError(self._failure(f"{state} before it was ready", what, last_error))
            try:
                if check():
                    return
            except Exception as exc:  # readiness probes fail in many ways while booting
                last_error = exc
            if time.monotonic() >= deadline:
                raise InfraError(self._failure(f"not ready after {timeout:g} s", what, last_error))
            time.sleep(interval)

    def __enter__(self) -> ManagedProcess:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _failure(self, state: str, what: str, last_error: Exception | None) -> str:
        waited_for = f": {what}" if what else ""
        cause = f" (last error: {last_error!r})" if last_error is not None else ""
        return (
            f"{self.name} {state}{waited_for}{cause}\n"
            f"--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def _forget(self, popen: Child) -> None:
        """The process tree is gone: the run registry need not sweep it any more."""
        if self._registered is not None:
            runs.current().drop_process(popen.pid, self._registered)
            self._registered = None

    def _running_popen(self, sig: signal.Signals) -> Child:
        if self._popen is None or self._popen.poll() is not None:
            raise InfraError(f"{self.name} is not running; cannot send {sig.name}")
        return self._popen


def _identity(user: str | None) -> tuple[int | None, int | None, list[int] | None]:
    """uid, gid and groups to switch to; all None when no switch is needed."""
    if user is None:
        return None, None, None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise InfraError(f"no system user {user!r} to run as") from None
    if entry.pw_uid == os.geteuid():
        return None, None, None
    return entry.pw_uid, entry.pw_gid, os.getgrouplist(user, entry.pw_gid)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _live(proc: psutil.Process) -> bool:
    try:
        # is_running() also checks the pid was not reused by another process.
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_has_live_members(popen: Child) -> bool:
    if popen.poll() is None:
        return True
    try:
        os.killpg(popen.pid, 0)
    except ProcessLookupError:
        return False
    # killpg also reaches zombies nobody reaps (orphans under a container's init); those
    # are dead for our purposes.
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == popen.pid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


class _Tree:
    """A process group plus every descendant of its leader, including those that left it."""

    def __init__(self, popen: Child) -> None:
        self.popen = popen
        self.descendants: dict[int, psutil.Process] = {}

    def collect(self) -> None:
        """Remember the leader's descendants; only possible while the leader lives."""
        if self.popen.poll() is not None:
            return
        try:
            found = psutil.Process(self.popen.pid).children(recursive=True)
        except psutil.Error:
            return
        for proc in found:
            self.descendants.setdefault(proc.pid, proc)

    def freeze_leader(self) -> None:
        """SIGSTOP the group and wait until the leader is stopped: signals arrive
        asynchronously, and a leader still running could fork after we list its children."""
        _signal_group(self.popen.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 1.0
        while self.popen.poll() is None and time.monotonic() < deadline:
            try:
                if psutil.Process(self.popen.pid).status() in _HALTED:
                    return
            except psutil.Error:
                return
            time.sleep(0.001)

    def signal(self, sig: signal.Signals) -> None:
        _signal_group(self.popen.pid, sig)
        for proc in self.descendants.values():
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)  # checks the pid was not reused

    def kill(self) -> None:
        self.freeze_leader()
        self.collect()
        self.signal(signal.SIGKILL)

    def alive(self) -> bool:
        return _group_has_live_members(self.popen) or any(
            _live(proc) for proc in self.descendants.values()
        )

    def wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
        return True
