"""Children die with the harness: a parent-death signal on every child we start.

On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` in the child (between fork and exec) makes
the kernel kill it when its parent dies, however the parent dies: SIGKILL included, which
no handler and no ``finally`` can catch. Two details decide whether it works:

- The "parent" is the *thread* that forked the child, not the process. A server started
  from a short-lived thread (the fleet boots PostgreSQL in a pool thread) would be killed
  the moment that thread ends. So every child is forked either by the main thread or by
  one daemon thread that lives as long as the process (:func:`spawn`).
- The setting is cleared when the child changes its user id. ``subprocess`` switches user
  (``user=``, PostgreSQL as ``postgres``) *before* it runs ``preexec_fn``, so setting it
  there survives; it also survives ``exec`` of a program that is not set-user-id.

The signal does not reach grandchildren (a fork clears it), and other systems have no such
call: the run registry (:mod:`harness.infra.runs`) sweeps whatever survives.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - a Linux without glibc's prctl
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


# Looked up once, here: the child between fork and exec should do as little as possible.
_prctl = _load_prctl()

SUPPORTED = _prctl is not None


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that arms SIGKILL-on-parent-death; None where the OS has no such call.

    It also closes the race with a parent that died before the child armed the signal:
    the child then finds itself adopted by another process and kills itself.
    """
    prctl = _prctl
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        if prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


class _Spawner:
    """One daemon thread that forks children on behalf of threads that may end sooner."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], Future[object]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def run(self, work: Callable[[], T]) -> T:
        if threading.current_thread() is threading.main_thread():
            # The main thread lives as long as the process does.
            return work()
        thread = self._ensure_thread()
        if threading.current_thread() is thread:
            return work()
        done: Future[object] = Future()
        self._jobs.put((work, done))
        return done.result()  # type: ignore[return-value]

    def _ensure_thread(self) -> threading.Thread:
        with self._lock:
            # After a fork the thread does not exist in the child: start another.
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._jobs = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._serve, args=(self._jobs,), name="harness-spawner", daemon=True
                )
                self._pid = os.getpid()
                self._thread.start()
            return self._thread

    @staticmethod
    def _serve(jobs: queue.SimpleQueue[tuple[Callable[[], object], Future[object]]]) -> None:
        while True:
            work, done = jobs.get()
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(work())
            except BaseException as exc:  # handed to the waiting thread, which raises it
                done.set_exception(exc)


_spawner = _Spawner()


def spawn(start: Callable[[], T]) -> T:
    """Run ``start`` (which forks a child, e.g. ``subprocess.Popen``) on a thread that lives
    as long as the process, so the child's parent-death signal fires only when we die."""
    return _spawner.run(start)
