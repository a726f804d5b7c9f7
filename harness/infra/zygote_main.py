"""The zygote: one Python process that imports shared modules once, then forks services.

Run by :class:`harness.infra.zygote.Zygote` as a script (``python zygote_main.py FD
[MODULE...]``), never imported by the harness: it uses the standard library only, so the
modules it preloads are the only ones it imports besides the interpreter's own. It talks
JSON lines on the socket ``FD`` (one end of a socketpair the harness made):

- it sends ``{"ready": pid, "preloaded": [...], "failed": {module: error}, "threads": n}``
  once the preload is done;
- the harness sends ``{"id": n, "name": service, "module": m, "args": [...], "env": {...},
  "cwd": dir, "log": path}``; the zygote forks and answers ``{"id": n, "pid": pid}`` or
  ``{"id": n, "error": why}``;
- when a child exits, ``{"exit": pid, "code": c}`` (negative: killed by that signal, as
  in ``subprocess``).

A forked child behaves like ``python -m module`` started from ``cwd`` with ``env``: its own
session and process group, a parent-death signal (it dies with the zygote, which dies with
the harness), stdin from /dev/null, stdout and stderr appended to ``log``, ``sys.path[0]``
the working directory, ``os.environ`` replaced. What it cannot change: the interpreter's
start-up settings (the harness sends only services whose ``PYTHON*`` variables match the
zygote's) and the state of the modules preloaded here, imported with the zygote's
environment.

Fork is only safe in a process with one thread: a lock held by another thread at the fork
stays held for ever in the child. The zygote starts none, and checks after the preload that
none of the preloaded modules did (``/proc/self/task``, which counts threads started from C
too); if one did, it refuses every fork and the harness starts services the plain way.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # pragma: no cover - no procfs: trust the interpreter's own count
        import threading

        return threading.active_count()


def _preload(modules: list[str]) -> tuple[list[str], dict[str, str]]:
    done: list[str] = []
    failed: dict[str, str] = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # a bad preload costs speed, never the fleet
            failed[name] = f"{type(exc).__name__}: {exc}"
        else:
            done.append(name)
    return done, failed


class _Server:
    def __init__(self, sock: socket.socket, refuse: str | None) -> None:
        self.sock = sock
        self.refuse = refuse
        self.buffer = b""
        self.children: set[int] = set()
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(json.dumps(message).encode() + b"\n")

    def serve(self) -> dict[str, Any] | None:
        """Answer requests until the harness hangs up (None); in a forked child, return
        that child's job instead."""
        signal.set_wakeup_fd(self.wake_w)
        # A handler (not SIG_IGN, which would let the kernel reap children for us and lose
        # their exit codes) so that SIGCHLD wakes the selector through the wakeup fd.
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        self._reap()
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_r, 4096)
                    self._reap()
                    continue
                data = self.sock.recv(65536)
                if not data:
                    return None
                self.buffer += data
                while b"\n" in self.buffer:
                    line, self.buffer = self.buffer.split(b"\n", 1)
                    job = self._request(json.loads(line))
                    if job is not None:
                        return job

    def _request(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if self.refuse is not None:
            self.send({"id": request["id"], "error": self.refuse})
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            self.send({"id": request["id"], "error": f"fork failed: {exc}"})
            return None
        if pid == 0:
            self._leave()
            return request
        self.children.add(pid)
        self.send({"id": request["id"], "pid": pid})
        return None

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            self.send({"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    def _leave(self) -> None:
        """In a new child: drop everything that belongs to the zygote."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        self.sock.close()
        os.close(self.wake_r)
        os.close(self.wake_w)


def _become(job: dict[str, Any], zygote: int) -> None:
    """Turn this forked child into the service ``job`` describes (as ``python -m``)."""
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != zygote:  # the zygote died before the signal was armed
        os.kill(os.getpid(), signal.SIGKILL)
    # Its command line stays the zygote's (fork copies it): its name, at least, says which
    # service it is (ps, top, psutil's name(); the kernel keeps 15 bytes).
    libc.prctl(_PR_SET_NAME, ctypes.c_char_p(job["name"].encode()[:15]), 0, 0, 0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    log = os.open(job["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    # `python -m` puts the working directory first on the path.
    sys.path[0] = os.getcwd()
    sys.argv = ["-m", *job["args"]]


def main() -> int:
    fd = int(sys.argv[1])
    # Run as a script, the zygote's own directory would come first on the path (and shadow
    # modules of the same name); the preload resolves modules as the services will, from
    # the working directory.
    sys.path[0] = os.getcwd()
    zygote = os.getpid()
    sock = socket.socket(fileno=fd)
    sock.set_inheritable(False)
    done, failed = _preload(sys.argv[2:])
    threads = _threads()
    refuse = (
        f"the preloaded modules started {threads - 1} thread(s): forking is unsafe"
        if threads > 1
        else None
    )
    # Objects made so far are never freed: keeping the collector off them keeps their
    # pages shared between the children (copy-on-write) instead of touched by every one.
    gc.freeze()
    server = _Server(sock, refuse)
    server.send({"ready": zygote, "preloaded": done, "failed": failed, "threads": threads})
    job = server.serve()
    if job is None:
        return 0
    # From here on this is a service: its errors are its own, printed to its log.
    _become(job, zygote)
    runpy.run_module(job["module"], run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
