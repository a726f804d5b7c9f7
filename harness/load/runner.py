"""Run Locust headless in subprocesses: one process, or a master and N workers on 127.0.0.1.

Locust is never imported here (its gevent monkey-patching breaks the process it is
imported into, pytest's included); we start ``python -m locust`` with the harness's
locustfile and read the files it leaves behind. Each process is a :class:`ManagedProcess`
(its own process group, output in a log, SIGTERM then SIGKILL), stopped in a ``finally``:
nothing outlives the run, also on Ctrl-C, SIGTERM or a timeout.

Locust exits 1 whenever a request failed; that is a result, not a crash. A crash is any
other exit code, or missing output files, and raises :class:`LoadRunError` with the log.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.infra.ports import free_port
from harness.infra.process import ManagedProcess
from harness.load.errors import LoadRunError
from harness.load.plan import PLAN_ENV, RESULT_FILE, SERIES_FILE, STATUS_FILE, Plan

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LOOPBACK = "127.0.0.1"
STATS_PREFIX = "locust-stats"  # Locust appends ".json"
_POLL = 0.25
# Time allowed beyond the planned duration: process start, workers connecting, shutdown.
_GRACE = 60.0
_STOP_TIMEOUT = 15.0

StatusCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class LocustOutput:
    """The files one run left in its raw directory."""

    raw_dir: Path
    stats: list[dict[str, Any]]
    result: dict[str, Any]
    series: dict[str, Any]
    html: Path | None
    returncode: int
    logs: list[Path]


def _argv(locustfiles: Sequence[Path]) -> list[str]:
    files = ",".join(str(f) for f in [LOCUSTFILE, *locustfiles])
    return [sys.executable, "-m", "locust", "-f", files, "--loglevel", "INFO"]


def _processes(
    plan: Plan, raw: Path, html: Path | None, locustfiles: Sequence[Path]
) -> list[ManagedProcess]:
    env = {**os.environ, PLAN_ENV: str(raw / "plan.json"), "PYTHONUNBUFFERED": "1"}
    master = [
        *_argv(locustfiles),
        "--headless",
        "--only-summary",
        "--host",
        plan.base_url,
        "--json-file",
        str(raw / STATS_PREFIX),
    ]
    if html is not None:
        master += ["--html", str(html)]
    processes = []
    port = None
    if plan.workers > 0:
        port = free_port(LOOPBACK)
        master += [
            "--master",
            "--master-bind-host",
            LOOPBACK,
            "--master-bind-port",
            str(port),
            "--expect-workers",
            str(plan.workers),
            "--expect-workers-max-wait",
            "60",
        ]
    processes.append(
        ManagedProcess("locust", master, env=env, cwd=raw, log_path=raw / "locust.log")
    )
    for index in range(plan.workers):
        worker = [*_argv(locustfiles), "--worker", "--master-host", LOOPBACK]
        worker += ["--master-port", str(port)]
        processes.append(
            ManagedProcess(
                f"locust-worker-{index + 1}",
                worker,
                env=env,
                cwd=raw,
                log_path=raw / f"locust-worker-{index + 1}.log",
            )
        )
    return processes


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_json(path: Path, what: str, log: ManagedProcess) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadRunError(
            f"Locust wrote no {what} ({path.name}: {exc})\n"
            f"--- last lines of {log.log_path} ---\n{log.log_tail(30)}"
        ) from None


def run_locust(
    plan: Plan,
    raw: Path,
    *,
    html: Path | None = None,
    locustfiles: Sequence[Path] = (),
    on_status: StatusCallback | None = None,
    grace_s: float = _GRACE,
    stop: threading.Event | None = None,
) -> LocustOutput:
    """Run ``plan`` to its end (or its abort) and return what Locust left behind.

    Setting ``stop`` ends the run early the way Locust ends on SIGTERM: the master writes
    its statistics and our result files, so an early end is still a result (a chaos
    game-day stops its load once the recovery is proven)."""
    raw.mkdir(parents=True, exist_ok=True)
    for stale in (RESULT_FILE, SERIES_FILE, STATUS_FILE, f"{STATS_PREFIX}.json"):
        (raw / stale).unlink(missing_ok=True)
    plan.write(raw / "plan.json")
    processes = _processes(plan, raw, html, locustfiles)
    master = processes[0]
    deadline = time.monotonic() + plan.duration_s + grace_s
    try:
        for process in processes:
            process.start()
        while master.running:
            if stop is not None and stop.is_set():
                master.stop(_STOP_TIMEOUT)
                break
            if on_status is not None:
                status = read_status(raw / STATUS_FILE)
                if status is not None:
                    on_status(status)
            if time.monotonic() > deadline:
                raise LoadRunError(
                    f"Locust did not finish within {plan.duration_s + grace_s:g} s\n"
                    f"--- last lines of {master.log_path} ---\n{master.log_tail(30)}"
                )
            time.sleep(_POLL)
    finally:
        # Workers first: a master stopped first would leave them waiting to reconnect.
        for process in reversed(processes):
            process.stop(_STOP_TIMEOUT)
    code = master.returncode
    if code not in (0, 1):
        raise LoadRunError(
            f"Locust exited with code {code}\n"
            f"--- last lines of {master.log_path} ---\n{master.log_tail(30)}"
        )
    result = _read_json(raw / RESULT_FILE, "harness result", master)
    stats = _read_json(raw / f"{STATS_PREFIX}.json", "statistics", master)
    series = _read_json(raw / SERIES_FILE, "time series", master)
    if on_status is not None:
        final = read_status(raw / STATUS_FILE)
        if final is not None:
            on_status({**final, "phase": "done"})
    return LocustOutput(
        raw_dir=raw,
        stats=list(stats),
        result=dict(result),
        series=dict(series),
        html=html if html is not None and html.exists() else None,
        returncode=code or 0,
        logs=[p.log_path for p in processes],
    )
