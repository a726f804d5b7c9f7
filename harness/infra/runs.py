"""The run registry: what each harness process started, so a dead run's leftovers can go.

Every harness process that starts a child or makes a work directory keeps a journal in the
registry directory (``$HARNESS_RUNS_DIR``, else ``$XDG_STATE_HOME/harness/runs``, else
``~/.local/state/harness/runs``): one JSON line per event, appended (a line torn by a
crash is skipped on reading). It records

- processes, each as pid *and* start time (clock ticks since boot, plus the boot id): a
  pid the kernel has since given to another process is never signalled;
- paths (work directories) to remove;
- Docker objects (containers, networks, volumes of the docker provider), by id.

The journal's owner holds an exclusive ``flock`` on it for as long as it lives. The kernel
drops the lock when the process dies, however it dies, so "the lock is free" is exactly
"the run is dead": no pid check is needed to tell a live run from a dead one, and two
sweepers never sweep the same journal (the second finds it unlinked).

:func:`sweep` stops every recorded process of every dead run (and the rest of its session:
``sh -c`` wrappers' children, say) and removes its paths. It runs when a process first
records something (so the next run cleans up after a killed one) and on demand
(``harness fleet sweep``). Children also die with us on their own where the OS allows
(:mod:`harness.infra.lifeline`); the sweep covers the rest.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from harness.config import runs_dir

log = logging.getLogger(__name__)

_JOURNAL_GLOB = "run-*.jsonl"
_FORMAT = 1
_KILL_WAIT = 5.0


def boot_id() -> str:
    """This boot's id: a pid and its start time name a process only within one boot."""
    return _boot_id()


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return f"boot@{int(psutil.boot_time())}"


def start_time(pid: int) -> str | None:
    """An exact, comparable start time of process ``pid``; None if there is none.

    On Linux the clock ticks since boot from /proc (an integer: no rounding, unlike a
    wall-clock time computed from the boot time, which can shift by a second).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return f"ticks:{int(fields[19])}"
    except (OSError, IndexError, ValueError):
        pass
    try:
        return f"epoch:{psutil.Process(pid).create_time():.3f}"
    except psutil.Error:
        return None


@dataclass
class ProcessEntry:
    pid: int
    start: str
    name: str


@dataclass
class Journal:
    """A run's journal as read back: what is still recorded as live."""

    path: Path
    header: dict[str, Any]
    processes: dict[tuple[int, str], ProcessEntry] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    containers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        argv = self.header.get("argv") or []
        command = " ".join(str(a) for a in argv[:4]) or "?"
        return f"run pid {self.header.get('pid', '?')} ({command})"

    def apply(self, event: dict[str, Any]) -> None:
        kind, op = event.get("kind"), event.get("op")
        if kind == "process":
            key = (int(event["pid"]), str(event["start"]))
            if op == "add":
                self.processes[key] = ProcessEntry(key[0], key[1], str(event.get("name", "")))
            else:
                self.processes.pop(key, None)
        elif kind == "path":
            path = str(event["path"])
            if op == "add" and path not in self.paths:
                self.paths.append(path)
            elif op == "drop" and path in self.paths:
                self.paths.remove(path)
        elif kind == "container":
            entry = {k: v for k, v in event.items() if k not in ("kind", "op")}
            if op == "add":
                self.containers.append(entry)
            else:
                self.containers = [c for c in self.containers if c.get("id") != entry.get("id")]

    @classmethod
    def parse(cls, path: Path, text: str) -> Journal:
        lines = text.splitlines()
        header: dict[str, Any] = {}
        events: list[dict[str, Any]] = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by the writer's death
            if not isinstance(record, dict):
                continue
            if "run" in record:
                header = record
            else:
                events.append(record)
        journal = cls(path, header)
        for event in events:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                journal.apply(event)
        return journal


class RunRecord:
    """This process's journal: record what it starts, forget what it stopped.

    Thread-safe; a forked child gets its own record (see :func:`current`).
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            directory.chmod(0o700)
        self.pid = os.getpid()
        self.start = start_time(self.pid) or "unknown"
        token = self.start.replace(":", "-").replace(".", "-")
        self.path = directory / f"run-{self.pid}-{token}.jsonl"
        self._lock = threading.Lock()
        self._live: Journal = Journal(self.path, {})
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, 0o600)
        # Held for as long as this process lives; the kernel releases it when we die.
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.ftruncate(self._fd, 0)
        self._write(
            {
                "run": _FORMAT,
                "pid": self.pid,
                "start": self.start,
                "boot": _boot_id(),
                "argv": sys.argv,
                "cwd": os.getcwd(),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )
        self._closed = False

    def add_process(self, pid: int, name: str) -> str | None:
        """Record a child; returns its start time (None when it is already gone)."""
        start = start_time(pid)
        if start is not None:
            self._event({"kind": "process", "op": "add", "pid": pid, "start": start, "name": name})
        return start

    def drop_process(self, pid: int, start: str | None) -> None:
        if start is not None:
            self._event({"kind": "process", "op": "drop", "pid": pid, "start": start})

    def add_path(self, path: Path) -> None:
        self._event({"kind": "path", "op": "add", "path": str(Path(path).absolute())})

    def drop_path(self, path: Path) -> None:
        self._event({"kind": "path", "op": "drop", "path": str(Path(path).absolute())})

    def add_container(self, container_id: str, engine: str, type: str = "container") -> None:
        """Record an engine object: ``type`` is container, network or volume."""
        event = {"kind": "container", "op": "add", "id": container_id, "engine": engine}
        self._event({**event, "type": type})

    def drop_container(self, container_id: str) -> None:
        self._event({"kind": "container", "op": "drop", "id": container_id})

    @property
    def empty(self) -> bool:
        live = self._live
        return not (live.processes or live.paths or live.containers)

    def close(self) -> None:
        """At exit: delete the journal when nothing in it is left, else leave it to a sweep.

        A child that exited by itself (and was never stopped) is nothing left.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for key, entry in list(self._live.processes.items()):
                if not _remains(entry):
                    del self._live.processes[key]
            if self.empty:
                with contextlib.suppress(OSError):
                    self.path.unlink()
            os.close(self._fd)

    def _event(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self._closed:
                return
            self._live.apply(event)
            self._write(event)

    def _write(self, record: dict[str, Any]) -> None:
        # One write per line on an O_APPEND descriptor: lines never interleave.
        os.write(self._fd, (json.dumps(record) + "\n").encode())


class Unrecorded(RunRecord):
    """Stands in when the registry cannot be written (a read-only home, say): the run goes
    on, with the parent-death signal as its only protection, and says so once."""

    def __init__(self, directory: Path, reason: OSError) -> None:
        why = (directory, reason)
        self.pid = os.getpid()
        self.path = directory
        self._closed = True
        self._lock = threading.Lock()
        self._live = Journal(directory, {})
        log.warning("run registry %s unusable (%s): nothing of this run can be swept", *why)


_current: RunRecord | None = None
_current_lock = threading.Lock()


def current() -> RunRecord:
    """This process's record, made on first use; making it first sweeps dead runs."""
    global _current
    with _current_lock:
        if _current is not None and _current.pid == os.getpid():
            return _current
        directory = runs_dir()
        try:
            for swept in sweep(directory).runs:
                log.warning("swept what a dead harness run left: %s", swept.summary())
        except OSError as exc:  # a sweep problem must not stop this run
            log.warning("could not sweep the run registry %s: %s", directory, exc)
        try:
            _current = RunRecord(directory)
        except OSError as exc:
            _current = Unrecorded(directory, exc)
        atexit.register(_current.close)
        return _current


@dataclass
class SweptRun:
    label: str
    killed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.killed)} process(es) killed", f"{len(self.removed)} path(s) removed"]
        if self.problems:
            parts.append("problems: " + "; ".join(self.problems))
        return f"{self.label}: " + ", ".join(parts)


@dataclass
class SweepReport:
    directory: Path
    runs: list[SweptRun] = field(default_factory=list)
    live_runs: int = 0

    @property
    def problems(self) -> list[str]:
        return [p for run in self.runs for p in run.problems]

    def lines(self) -> list[str]:
        """What was swept, for people: one line per dead run, then a total."""
        found = [f"swept {run.summary()}" for run in self.runs]
        found += [f"  killed {what}" for run in self.runs for what in run.killed]
        found += [f"  removed {path}" for run in self.runs for path in run.removed]
        live = f"{self.live_runs} live run(s) left alone"
        if not self.runs:
            return [*found, f"nothing to sweep in {self.directory} ({live})"]
        return [*found, f"{len(self.runs)} dead run(s) swept in {self.directory} ({live})"]


def sweep(directory: Path | None = None) -> SweepReport:
    """Remove what dead runs left: kill their processes, delete their paths, drop journals.

    Journals of live runs (their lock is held) are left alone, this process's own included.
    """
    directory = runs_dir() if directory is None else directory
    report = SweepReport(directory)
    if not directory.is_dir():
        return report
    for path in sorted(directory.glob(_JOURNAL_GLOB)):
        with _claim(path) as journal:
            if journal is None:
                report.live_runs += 1
                continue
            if journal is _GONE:
                continue
            report.runs.append(_sweep_run(journal))
    return report


_GONE = Journal(Path(), {})


@contextlib.contextmanager
def _claim(path: Path) -> Iterator[Journal | None]:
    """The journal of a dead run, locked by us; None if its run lives; _GONE if swept."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        yield _GONE
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        if os.fstat(fd).st_nlink == 0:
            yield _GONE  # another sweeper finished it between our open and our lock
            return
        with os.fdopen(os.dup(fd), "r", encoding="utf-8", errors="replace") as stream:
            journal = Journal.parse(path, stream.read())
        yield journal
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _sweep_run(journal: Journal) -> SweptRun:
    swept = SweptRun(journal.label)
    same_boot = journal.header.get("boot") == _boot_id()
    if same_boot:
        for entry in journal.processes.values():
            swept.killed += _kill_leftover(entry, swept.problems)
    for raw in reversed(journal.paths):
        path = Path(raw)
        if not _removable(path):
            swept.problems.append(f"refused to remove {raw}: not a harness work path")
            continue
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            if path.exists():
                swept.problems.append(f"could not remove {raw}")
            else:
                swept.removed.append(raw)
    if journal.containers:
        # Imported here: the docker SDK is an extra, and only a dead docker run needs it.
        from harness.infra.docker_engine import remove_recorded

        removed, problems = remove_recorded(journal.containers)
        swept.removed += removed
        swept.problems += problems
        other = [c for c in journal.containers if c.get("engine") != "docker"]
        swept.problems += [
            f"{c.get('engine')} object {c.get('id')} left: no sweeper" for c in other
        ]
    return swept


def _removable(path: Path) -> bool:
    # Only what a run made for itself: absolute, below some directory, never a mount point
    # or a home directory (a defence against a damaged journal).
    return (
        path.is_absolute()
        and len(path.parts) >= 3
        and path != Path.home()
        and not (path.exists() and os.path.ismount(path))
    )


def _session_members(sid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            if proc.pid != sid and os.getsid(proc.pid) == sid:
                found.append(proc)
    return found


def _remains(entry: ProcessEntry) -> bool:
    """Whether anything of a recorded process lives: itself, or members of its session."""
    now = start_time(entry.pid)
    if now is not None and now != entry.start:
        return False  # the pid was reused: ours is long gone
    if now is not None:
        with contextlib.suppress(psutil.Error):
            if _live(psutil.Process(entry.pid)):
                return True
    return any(_live(proc) for proc in _session_members(entry.pid))


def _kill_leftover(entry: ProcessEntry, problems: list[str]) -> list[str]:
    """SIGKILL a recorded process if it is still that process, and what is left of its session.

    A pid running with another start time was reused: it is not ours and nothing is sent.
    The session (each child runs in its own, with the child as leader) outlives a dead
    leader while members remain, and the kernel does not hand out a pid still in use as a
    session id, so members found by session id are ours.
    """
    victims: dict[int, psutil.Process] = {}
    current_start = start_time(entry.pid)
    if current_start is not None and current_start != entry.start:
        return []
    if current_start == entry.start:
        with contextlib.suppress(psutil.Error):
            leader = psutil.Process(entry.pid)
            victims[leader.pid] = leader
            for child in leader.children(recursive=True):
                victims[child.pid] = child
    for proc in _session_members(entry.pid):
        victims.setdefault(proc.pid, proc)
    killed = []
    for proc in victims.values():
        try:
            proc.send_signal(signal.SIGKILL)  # psutil checks the pid was not reused
            killed.append(f"{entry.name or 'process'} pid {proc.pid}")
        except psutil.NoSuchProcess:
            continue
        except psutil.Error as exc:
            problems.append(f"could not kill pid {proc.pid} ({entry.name}): {exc}")
    deadline = time.monotonic() + _KILL_WAIT
    alive = list(victims.values())
    while alive and time.monotonic() < deadline:
        time.sleep(0.01)
        alive = [proc for proc in alive if _live(proc)]
    problems += [f"pid {proc.pid} ({entry.name}) survived SIGKILL" for proc in alive]
    return killed


def _live(proc: psutil.Process) -> bool:
    # A zombie is dead for our purposes: whoever adopted it reaps it.
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
