"""Nothing outlives a killed harness: the parent-death signal and the run registry's sweep.

Each test runs a small "harness" in a real subprocess (a Python script using our code),
SIGKILLs it, and looks at what is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.config import RUNS_DIR_ENV
from harness.infra import lifeline, runs
from harness.infra.process import ManagedProcess

pytestmark = pytest.mark.slow

_DEADLINE = 10.0

# Starts a child from a thread that then ends, waits until the kernel has let the thread
# go (the parent-death signal would fire then), and reports the child's pid.
CHILD_FROM_A_SHORT_THREAD = """
import os, sys, threading, time
from pathlib import Path
from harness.infra.process import ManagedProcess

started, tids = [], []
def boot():
    tids.append(threading.get_native_id())
    process = ManagedProcess(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(120)"],
        log_path=Path(sys.argv[1]),
    )
    process.start()
    started.append(process)
thread = threading.Thread(target=boot)
thread.start()
thread.join()
deadline = time.monotonic() + 10
while os.path.exists(f"/proc/self/task/{tids[0]}") and time.monotonic() < deadline:
    time.sleep(0.005)
print(started[0].pid, flush=True)
time.sleep(120)
"""

# Records a work directory and a child without the parent-death signal (as on a system
# that has none), whose own child stays in its session; reports both pids.
LEFTOVERS = """
import subprocess, sys, time
from pathlib import Path
from harness.infra import runs

record = runs.current()
work = Path(sys.argv[1])
work.mkdir()
(work / "data").write_text("x")
record.add_path(work)
sleeper = f"{sys.executable} -c 'import time; time.sleep(120)'"
child = subprocess.Popen(
    ["sh", "-c", f"{sleeper} & echo $!; exec {sleeper}"],
    start_new_session=True, stdout=subprocess.PIPE, text=True,
)
grandchild = int(child.stdout.readline())
record.add_process(child.pid, "wrapper")
print(child.pid, grandchild, flush=True)
time.sleep(120)
"""

# Records a path and a process, forgets both as a clean teardown does, starts a process
# that ends by itself (and is never stopped), and exits.
CLEAN_EXIT = """
import sys, time
from pathlib import Path
from harness.infra.process import ManagedProcess
from harness.infra import runs

work = Path(sys.argv[1])
runs.current().add_path(work)
process = ManagedProcess("sleeper", ["sleep", "60"], log_path=work.parent / "sleeper.log")
process.start()
process.stop()
runs.current().drop_path(work)
quick = ManagedProcess("quick", ["true"], log_path=work.parent / "quick.log")
quick.start()
while quick.running:
    time.sleep(0.01)
print("done", flush=True)
"""


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private registry, for the helpers and for this process's own record."""
    directory = tmp_path / "runs"
    monkeypatch.setenv(RUNS_DIR_ENV, str(directory))
    monkeypatch.setattr(runs, "_current", None)
    yield directory
    if runs._current is not None:
        runs._current.close()


@pytest.fixture
def helpers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for helper in started:
        if helper.poll() is None:
            helper.kill()
        helper.wait()


def run_helper(
    helpers: list[subprocess.Popen[str]], script: str, *args: object
) -> tuple[subprocess.Popen[str], str]:
    """Start a helper "harness" and return it with the first line it prints."""
    helper = subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    helpers.append(helper)
    assert helper.stdout is not None
    line = helper.stdout.readline()
    if not line:
        raise AssertionError(f"helper printed nothing: {helper.communicate()[1]}")
    return helper, line


def sigkill(helper: subprocess.Popen[str]) -> None:
    helper.send_signal(signal.SIGKILL)
    helper.wait()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_all_gone(pids: list[int]) -> list[int]:
    """The pids still alive after a bounded wait ([] when all are gone)."""
    deadline = time.monotonic() + _DEADLINE
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [pid for pid in pids if alive(pid)]


def journals(directory: Path) -> list[Path]:
    return sorted(directory.glob("run-*.jsonl"))


@pytest.mark.skipif(not lifeline.SUPPORTED, reason="no parent-death signal on this OS")
def test_a_child_outlives_the_thread_that_started_it_but_not_the_harness(
    registry: Path, helpers: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    helper, line = run_helper(helpers, CHILD_FROM_A_SHORT_THREAD, tmp_path / "sleeper.log")
    child = int(line)
    # The thread that asked for it has ended: the child still runs.
    assert alive(child)
    sigkill(helper)
    assert wait_all_gone([child]) == []


def test_the_sweep_kills_what_a_dead_run_recorded_and_removes_its_paths(
    registry: Path, helpers: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    work = tmp_path / "harness-work"
    helper, line = run_helper(helpers, LEFTOVERS, work)
    child, grandchild = (int(pid) for pid in line.split())
    assert len(journals(registry)) == 1

    # A live run is left alone.
    live = runs.sweep(registry)
    assert (live.runs, live.live_runs) == ([], 1)
    assert alive(child)
    assert alive(grandchild)
    assert work.is_dir()

    sigkill(helper)
    # Nothing died with it: these children have no parent-death signal.
    assert alive(child)
    assert alive(grandchild)
    report = runs.sweep(registry)

    assert len(report.runs) == 1
    swept = report.runs[0]
    assert swept.problems == []
    assert len(swept.killed) == 2  # the recorded child and the rest of its session
    assert swept.removed == [str(work)]
    assert wait_all_gone([child, grandchild]) == []
    assert not work.exists()
    assert journals(registry) == []
    assert any("1 dead run(s) swept" in text for text in report.lines())
    # Swept once: a second sweep finds nothing.
    assert runs.sweep(registry).runs == []


def test_a_pid_that_was_reused_is_never_killed(registry: Path, tmp_path: Path) -> None:
    # A dead run's journal (nobody holds its lock) naming a pid that now belongs to another
    # process: same number, another start time.
    with subprocess.Popen(["sleep", "60"]) as stranger:
        try:
            registry.mkdir()
            journal = registry / "run-1-ticks-1.jsonl"
            lines = [
                {"run": 1, "pid": 1, "start": "ticks:1", "boot": runs._boot_id(), "argv": ["x"]},
                {"kind": "process", "op": "add", "pid": stranger.pid, "start": "ticks:1"},
            ]
            journal.write_text("".join(json.dumps(line) + "\n" for line in lines))

            report = runs.sweep(registry)

            assert len(report.runs) == 1
            assert report.runs[0].killed == []
            assert alive(stranger.pid)
            assert journals(registry) == []
        finally:
            stranger.kill()


def test_a_line_torn_by_a_crash_is_skipped(tmp_path: Path) -> None:
    text = (
        json.dumps({"run": 1, "pid": 7, "start": "ticks:5"})
        + "\n"
        + json.dumps({"kind": "path", "op": "add", "path": "/tmp/harness-a"})
        + "\n"
        + json.dumps({"kind": "process", "op": "add", "pid": 9, "start": "ticks:6", "name": "x"})
        + "\n"
        + json.dumps({"kind": "process", "op": "drop", "pid": 9, "start": "ticks:6"})
        + "\n"
        + '{"kind": "path", "op": "add", "pa'
    )
    journal = runs.Journal.parse(tmp_path / "run.jsonl", text)
    assert journal.header["pid"] == 7
    assert journal.paths == ["/tmp/harness-a"]
    assert journal.processes == {}


def test_a_clean_run_leaves_no_journal(
    registry: Path, helpers: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    helper, line = run_helper(helpers, CLEAN_EXIT, tmp_path / "harness-work")
    assert line.strip() == "done"
    assert helper.wait(timeout=_DEADLINE) == 0
    assert journals(registry) == []


def test_a_process_is_recorded_while_it_runs(registry: Path, tmp_path: Path) -> None:
    process = ManagedProcess("sleeper", ["sleep", "60"], log_path=tmp_path / "sleeper.log")
    process.start()
    try:
        record = runs.current()
        assert record.path.parent == registry
        entries = runs.Journal.parse(record.path, record.path.read_text()).processes
        assert [(e.pid, e.name) for e in entries.values()] == [(process.pid, "sleeper")]
        assert all(e.start == runs.start_time(e.pid) for e in entries.values())
    finally:
        process.stop()
    assert runs.Journal.parse(record.path, record.path.read_text()).processes == {}
