"""The live progress line of a run: users, rps, p95, failures and time left.

The locustfile writes a small status file every second; the runner polls it and hands each
status here. On a terminal the line updates in place (rich's Live); elsewhere (CI logs) a
plain line is printed every few seconds so the log stays short.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

__all__ = ["ProgressDisplay", "status_line"]

_PLAIN_EVERY_S = 5.0


def status_line(name: str, status: dict[str, Any]) -> str:
    elapsed = float(status.get("elapsed_s") or 0.0)
    planned = float(status.get("duration_s") or 0.0)
    requests = int(status.get("requests") or 0)
    failures = int(status.get("failures") or 0)
    ratio = failures / requests * 100 if requests else 0.0
    p95 = status.get("p95_ms")
    phase = status.get("phase", "running")
    left = max(0.0, planned - elapsed)
    parts = [
        f"{name} [{phase}]",
        f"users {status.get('users', 0)}",
        f"rps {float(status.get('rps') or 0):.1f}",
        f"p95 {p95:g} ms" if isinstance(p95, int | float) else "p95 -",
        f"failures {failures} ({ratio:.2f}%)",
        f"time left {left:.0f} s" if phase != "done" else f"ran {elapsed:.1f} s",
    ]
    if status.get("dropped"):
        parts.append(f"dropped {status['dropped']}")
    abort = status.get("abort")
    if abort:
        parts.append(f"ABORT: {abort.get('threshold')}")
    return "  ".join(parts)


class ProgressDisplay:
    """``with ProgressDisplay(console, name) as show: run(..., on_status=show)``."""

    def __init__(self, console: Console, name: str) -> None:
        self.console = console
        self.name = name
        self._live: Live | None = None
        self._last_plain = 0.0
        self._last: dict[str, Any] | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.console.is_terminal:
            self._live = Live(
                Text(f"{self.name}: starting Locust ..."),
                console=self.console,
                refresh_per_second=4,
                transient=False,
            )
            self._live.__enter__()
        else:
            self.console.print(f"{self.name}: starting Locust ...", highlight=False)
        return self

    def __call__(self, status: dict[str, Any]) -> None:
        self._last = status
        line = status_line(self.name, status)
        if self._live is not None:
            self._live.update(Text(line))
            return
        now = time.monotonic()
        if status.get("phase") == "done" or now - self._last_plain >= _PLAIN_EVERY_S:
            self._last_plain = now
            self.console.print(line, highlight=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
