"""SIGTERM as an exception, so ``finally`` blocks (fleet teardown) run when we are stopped.

Python turns SIGINT into KeyboardInterrupt but lets SIGTERM kill the process outright,
skipping every ``finally``: a fleet's servers would be orphaned. :func:`sigterm_raises`
makes SIGTERM raise :class:`Terminated`, a KeyboardInterrupt, so every runner that already
handles Ctrl-C (the CLI, pytest's interrupted-session teardown) handles SIGTERM the same
way. :func:`deferred` holds both signals back while a teardown runs, so a second Ctrl-C
cannot abandon it half-way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM (or another stop signal)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"received {signal.Signals(signum).name}")


def _raise_terminated(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


def _in_main_thread() -> bool:
    # Signal handlers can only be installed from the main thread of the main interpreter.
    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread.

    Outside the main thread this does nothing (the owner of the main thread decides).
    """
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back during the block; re-deliver the first one afterwards.

    Yields the list of signals received meanwhile. After the block the previous handlers
    are restored and, if a signal arrived, it is raised again so the caller still stops.
    """
    received: list[int] = []
    if not _in_main_thread():
        yield received
        return

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, hold)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        signal.raise_signal(signal.Signals(received[0]))
