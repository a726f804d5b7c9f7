"""A pre-forking launcher for ``python -m`` services: shared imports paid once per fleet.

Each service of a Python fleet spends most of its start importing the same libraries (web
framework, ORM, validation, telemetry): about a second of CPU each, six of them on two
cores starve everything else that boots. The zygote is one process
(:mod:`harness.infra.zygote_main`, stdlib only) that imports a list of modules once and
then forks one child per service, which imports only its own code. It is a
:class:`~harness.infra.process.Launcher`: a service's ``ManagedProcess`` asks it first, so
the process keeps everything a plain start gives (its own session and process group,
output appended to its log, the run registry, kill/stop/pause/restart on the whole tree).

What dies with what: the zygote is a ``ManagedProcess`` (parent-death signal, registry);
each child arms its own parent-death signal against the zygote, so a SIGKILLed harness
takes the zygote and then every child with it, and the registry holds the children too.
The zygote reaps its children and reports their exit status here (a child is not ours to
``waitpid``), which :class:`ZygoteChild` serves as ``poll``/``wait``.

It refuses (and the process starts the plain way) what it cannot start faithfully: an
argv other than ``<this interpreter> -m module [args]``, interpreter settings (``PYTHON*``
variables other than ``PYTHONUNBUFFERED``) that differ from its own, a zygote that is
gone, or one whose preloaded modules started a thread (forking is then unsafe).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import InfraError
from harness.infra.process import Child, LaunchRefused, ManagedProcess

log = logging.getLogger(__name__)

SUPPORTED = sys.platform.startswith("linux")
_PROGRAM = Path(__file__).with_name("zygote_main.py")
# Variables the interpreter reads once at start-up: a child of the zygote keeps the
# zygote's. PYTHONUNBUFFERED is the exception that matters: the zygote always has it on.
_INTERPRETER_PREFIX = "PYTHON"
_SAME_AS_ANY = frozenset({"PYTHONUNBUFFERED"})
_REPLY_TIMEOUT = 120.0


class ZygoteChild:
    """A child of the zygote, as ``subprocess.Popen`` shows one: pid, poll, wait."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self._zygote = zygote
        self.pid = pid

    def __repr__(self) -> str:
        return f"ZygoteChild(pid={self.pid}, returncode={self.poll()})"

    def poll(self) -> int | None:
        return self._zygote._exit_code(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        return self._zygote._wait_exit(self.pid, timeout)


class Zygote:
    """The launcher; :meth:`start` runs the zygote process, :meth:`close` ends it.

    ``preload`` names the modules to import once; ``cwd`` is where they are resolved from
    (and the zygote's own working directory); ``env`` is the zygote's environment, which
    the preloaded modules see at import (a child's own ``env`` replaces it afterwards).
    """

    def __init__(
        self,
        preload: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
        python: str = sys.executable,
    ) -> None:
        self.preload = tuple(preload)
        self.cwd = cwd
        self.env = {**env, "PYTHONUNBUFFERED": "1"}
        self.python = python
        self.log_path = log_path
        self.process: ManagedProcess | None = None
        # What the zygote said once its preload was done (see zygote_main), and when
        # (time.monotonic()).
        self.ready: dict[str, Any] | None = None
        self.ready_at: float | None = None
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._state = threading.Condition()
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._exits: dict[int, int] = {}
        self._children: set[int] = set()
        self._gone = False
        self._reader: threading.Thread | None = None

    def __repr__(self) -> str:
        pid = self.process.pid if self.process is not None else None
        return f"Zygote(pid={pid}, preload={len(self.preload)}, gone={self._gone})"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the zygote process; it preloads in the background (a launch waits)."""
        if not SUPPORTED:
            raise InfraError("the zygote needs Linux (fork with a parent-death signal)")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.process = ManagedProcess(
            "zygote",
            [self.python, str(_PROGRAM), str(theirs.fileno()), *self.preload],
            env=self.env,
            cwd=self.cwd,
            log_path=self.log_path,
            pass_fds=(theirs.fileno(),),
        )
        try:
            self.process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock = ours
        self._reader = threading.Thread(target=self._read, name="harness-zygote", daemon=True)
        self._reader.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the zygote (its remaining children die with it); idempotent."""
        sock = self._sock
        if sock is not None:
            # EOF tells the zygote to leave; SIGTERM (stop) if it does not.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self.process is not None:
            self.process.stop(timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        if sock is not None:
            sock.close()
        self._sock = None

    def wait_ready(self, timeout: float = _REPLY_TIMEOUT) -> dict[str, Any]:
        """Block until the preload is done; what the zygote reported about it."""
        deadline = time.monotonic() + timeout
        with self._state:
            while self.ready is None and not self._gone:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LaunchRefused(f"the zygote did not finish its preload in {timeout:g} s")
                self._state.wait(left)
            if self.ready is None:
                raise LaunchRefused(self._gone_reason())
            return self.ready

    # --- Launcher ------------------------------------------------------------------------

    def launch(self, process: ManagedProcess) -> Child:
        module, args = self._module_of(process)
        env = self._env_for(process)
        request = {
            "name": process.name,
            "module": module,
            "args": args,
            "env": env,
            "cwd": str(process.cwd or self.cwd),
            "log": str(process.log_path),
        }
        reply = self._call(request)
        if "error" in reply:
            raise LaunchRefused(f"the zygote refused: {reply['error']}")
        pid = int(reply["pid"])
        return ZygoteChild(self, pid)

    def _module_of(self, process: ManagedProcess) -> tuple[str, list[str]]:
        argv = process.argv
        if len(argv) < 3 or argv[0] != self.python or argv[1] != "-m":
            raise LaunchRefused(f"the zygote runs `{self.python} -m module` only")
        return argv[2], list(argv[3:])

    def _env_for(self, process: ManagedProcess) -> dict[str, str]:
        env = dict(os.environ) if process.env is None else dict(process.env)
        differ = sorted(
            name
            for name in {*env, *self.env}
            if name.startswith(_INTERPRETER_PREFIX)
            and name not in _SAME_AS_ANY
            and env.get(name) != self.env.get(name)
        )
        if differ:
            raise LaunchRefused(
                f"interpreter settings differ from the zygote's: {', '.join(differ)}"
            )
        return env

    # --- the conversation ------------------------------------------------------------------

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        sock = self._sock
        if sock is None:
            raise LaunchRefused("the zygote is not running")
        with self._state:
            if self._gone:
                raise LaunchRefused(self._gone_reason())
            self._next_id += 1
            ident = self._next_id
        line = json.dumps({**request, "id": ident}).encode() + b"\n"
        try:
            with self._send_lock:
                sock.sendall(line)
        except OSError as exc:
            raise LaunchRefused(f"the zygote is gone ({exc})") from None
        deadline = time.monotonic() + _REPLY_TIMEOUT
        with self._state:
            while ident not in self._replies:
                left = deadline - time.monotonic()
                if self._gone or left <= 0:
                    # A fork that happened after all would go unrecorded: none can, since
                    # the zygote is gone (and its children with it) or will be stopped.
                    raise LaunchRefused(self._gone_reason() if self._gone else "no answer")
                self._state.wait(left)
            reply = self._replies.pop(ident)
            if "pid" in reply:
                self._children.add(int(reply["pid"]))
            return reply

    def _gone_reason(self) -> str:
        code = self.process.returncode if self.process is not None else None
        return f"the zygote is gone (exit code {code}; see {self.log_path})"

    def _read(self) -> None:
        sock = self._sock
        assert sock is not None
        buffer = b""
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            with self._state:
                for line in lines:
                    self._take(json.loads(line))
                self._state.notify_all()
        with self._state:
            self._gone = True
            # Its children die with it (their parent-death signal): SIGKILL, as far as
            # anyone can tell; the process's own group check covers the last microseconds.
            for pid in self._children - set(self._exits):
                self._exits[pid] = -signal.SIGKILL
            self._state.notify_all()

    def _take(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            self.ready = message
            self.ready_at = time.monotonic()
            if message.get("failed"):
                log.warning("zygote: preload failed for %s", message["failed"])
        elif "exit" in message:
            self._exits[int(message["exit"])] = int(message["code"])
        elif "id" in message:
            self._replies[int(message["id"])] = message

    def _exit_code(self, pid: int) -> int | None:
        with self._state:
            return self._exits.get(pid)

    def _wait_exit(self, pid: int, timeout: float | None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._state:
            while pid not in self._exits:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"zygote child {pid} still running after {timeout} s")
                self._state.wait(left)
            return self._exits[pid]
