"""ManagedProcess against real child processes (Python one-liners)."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from harness.errors import InfraError
from harness.infra.process import ManagedProcess

pytestmark = pytest.mark.slow

MakeProcess = Callable[..., ManagedProcess]

# Prints a marker, then a heartbeat line every 20 ms: progress in the log proves it runs.
HEARTBEAT = """
import sys, time
print("started", flush=True)
n = 0
while True:
    n += 1
    print(f"beat {n}", flush=True)
    time.sleep(0.02)
"""

# Starts a grandchild in the same process group, reports its pid, then sleeps.
PARENT_OF_GRANDCHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(f"grandchild {child.pid}", flush=True)
time.sleep(120)
"""

# Like PostgreSQL's backends: the grandchild calls setsid() and leaves our process group.
PARENT_OF_ESCAPED_GRANDCHILD = """
import subprocess, sys, time
child = subprocess.Popen(
    [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
)
print(f"grandchild {child.pid}", flush=True)
time.sleep(120)
"""

IGNORES_SIGTERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
time.sleep(120)
"""


def python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", code]


def gone(pid: int) -> bool:
    """Dead: no such process, or a zombie nobody reaped yet."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def make_process(tmp_path: Path) -> Iterator[MakeProcess]:
    made: list[ManagedProcess] = []

    def make(code: str, name: str = "child") -> ManagedProcess:
        proc = ManagedProcess(name, python(code), log_path=tmp_path / f"{name}.log")
        made.append(proc)
        return proc

    yield make
    for proc in made:
        proc.stop(timeout=1.0)


def output(proc: ManagedProcess) -> list[str]:
    """What the child printed: the log without our start markers (which quote the argv)."""
    text = proc.log_path.read_text() if proc.log_path.exists() else ""
    return [line for line in text.splitlines() if not line.startswith("--- harness")]


def printed(proc: ManagedProcess, prefix: str) -> bool:
    return any(line.startswith(prefix) for line in output(proc))


def heartbeats(proc: ManagedProcess) -> int:
    return sum(line.startswith("beat ") for line in output(proc))


def grandchild_pid(proc: ManagedProcess) -> int:
    proc.wait_until(lambda: printed(proc, "grandchild "), timeout=10, what="grandchild pid")
    line = next(line for line in output(proc) if line.startswith("grandchild "))
    return int(line.split()[1])


def test_start_runs_the_child_and_appends_its_output_to_the_log(make_process: MakeProcess) -> None:
    proc = make_process(HEARTBEAT)
    assert proc.pid is None
    assert not proc.running
    proc.start()
    proc.wait_until(lambda: printed(proc, "started"), timeout=10, what="first line")
    assert proc.running
    assert proc.returncode is None
    assert psutil.Process(proc.pid).cmdline()[0] == sys.executable


def test_stop_terminates_and_reaps_and_is_idempotent(make_process: MakeProcess) -> None:
    proc = make_process(HEARTBEAT)
    proc.stop()  # never started: nothing to do
    proc.start()
    proc.wait_until(lambda: printed(proc, "started"), timeout=10)
    pid = proc.pid
    assert pid is not None
    proc.stop()
    assert not proc.running
    assert proc.returncode == -signal.SIGTERM
    assert not psutil.pid_exists(pid)  # reaped, not a zombie
    proc.stop()
    assert proc.returncode == -signal.SIGTERM


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(make_process: MakeProcess) -> None:
    proc = make_process(IGNORES_SIGTERM)
    proc.start()
    proc.wait_until(lambda: printed(proc, "ignoring SIGTERM"), timeout=10)
    proc.stop(timeout=0.3)
    assert proc.returncode == -signal.SIGKILL


def test_stop_kills_the_whole_process_group(make_process: MakeProcess) -> None:
    proc = make_process(PARENT_OF_GRANDCHILD)
    proc.start()
    grandchild = grandchild_pid(proc)
    assert psutil.Process(grandchild).ppid() == proc.pid
    assert not gone(grandchild)
    proc.stop()
    wait_for(lambda: gone(grandchild))


def test_kill_is_a_sigkill_of_the_group(make_process: MakeProcess) -> None:
    proc = make_process(PARENT_OF_GRANDCHILD)
    proc.start()
    grandchild = grandchild_pid(proc)
    proc.kill()
    assert proc.returncode == -signal.SIGKILL
    wait_for(lambda: gone(grandchild))


def test_kill_reaches_a_grandchild_that_left_the_process_group(
    make_process: MakeProcess,
) -> None:
    proc = make_process(PARENT_OF_ESCAPED_GRANDCHILD)
    proc.start()
    grandchild = grandchild_pid(proc)
    assert os.getpgid(grandchild) != proc.pid
    proc.kill()
    wait_for(lambda: gone(grandchild))


def test_stop_leaves_no_grandchild_that_left_the_process_group(
    make_process: MakeProcess,
) -> None:
    proc = make_process(PARENT_OF_ESCAPED_GRANDCHILD)
    proc.start()
    grandchild = grandchild_pid(proc)
    proc.stop(timeout=0.3)
    assert proc.returncode == -signal.SIGTERM
    wait_for(lambda: gone(grandchild))


def test_pause_stops_the_process_and_resume_continues_it(make_process: MakeProcess) -> None:
    proc = make_process(HEARTBEAT)
    proc.start()
    proc.wait_until(lambda: heartbeats(proc) >= 1, timeout=10)
    proc.pause()
    wait_for(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_STOPPED)
    proc.resume()
    wait_for(lambda: psutil.Process(proc.pid).status() != psutil.STATUS_STOPPED)
    beats = heartbeats(proc)
    wait_for(lambda: heartbeats(proc) > beats)


def test_stop_of_a_paused_process_does_not_hang_until_sigkill(make_process: MakeProcess) -> None:
    proc = make_process(HEARTBEAT)
    proc.start()
    proc.wait_until(lambda: printed(proc, "started"), timeout=10)
    proc.pause()
    proc.stop(timeout=30)
    # SIGTERM, not SIGKILL: the SIGCONT after it let the paused child act on it.
    assert proc.returncode == -signal.SIGTERM


def test_restart_runs_a_new_process_and_appends_to_the_same_log(make_process: MakeProcess) -> None:
    proc = make_process(HEARTBEAT)
    proc.start()
    proc.wait_until(lambda: printed(proc, "started"), timeout=10)
    first = proc.pid
    proc.restart()
    proc.wait_until(lambda: output(proc).count("started") == 2, timeout=10)
    assert proc.running
    assert proc.pid != first
    assert first is not None
    assert not psutil.pid_exists(first)
    assert proc.log_path.read_text().count("--- harness") == 2


def test_start_twice_is_an_error(make_process: MakeProcess) -> None:
    proc = make_process(HEARTBEAT)
    proc.start()
    with pytest.raises(InfraError, match="already running"):
        proc.start()


def test_readiness_timeout_error_quotes_the_log_tail(make_process: MakeProcess) -> None:
    proc = make_process(HEARTBEAT, name="sleepy")
    proc.start()
    proc.wait_until(lambda: heartbeats(proc) >= 3, timeout=10)
    with pytest.raises(InfraError) as caught:
        proc.wait_until(lambda: False, timeout=0.2, what="a port that never opens")
    message = str(caught.value)
    assert "sleepy not ready after 0.2 s: a port that never opens" in message
    assert re.search(r"^beat \d+$", message, re.MULTILINE)
    assert str(proc.log_path) in message


def test_a_process_that_exits_early_fails_fast_with_its_output(make_process: MakeProcess) -> None:
    proc = make_process(
        "import sys; print('config file missing', flush=True); sys.exit(3)", name="broken"
    )
    proc.start()

    def probe() -> bool:
        raise ConnectionRefusedError("nothing listens")

    with pytest.raises(InfraError) as caught:
        proc.wait_until(probe, timeout=60)
    message = str(caught.value)
    assert "broken exited with code 3 before it was ready" in message
    assert "\nconfig file missing" in message  # the child's line, not our argv marker


def test_wait_until_names_the_last_probe_error_on_timeout(make_process: MakeProcess) -> None:
    proc = make_process(HEARTBEAT)
    proc.start()

    def probe() -> bool:
        raise ConnectionRefusedError("port 1 refused")

    with pytest.raises(InfraError, match="port 1 refused"):
        proc.wait_until(probe, timeout=0.1)


def test_pause_of_a_process_that_is_not_running_is_an_error(tmp_path: Path) -> None:
    proc = ManagedProcess("idle", python("pass"), log_path=tmp_path / "idle.log")
    with pytest.raises(InfraError, match="not running"):
        proc.pause()


def test_a_missing_program_is_an_infra_error(tmp_path: Path) -> None:
    proc = ManagedProcess("ghost", [str(tmp_path / "no-such-binary")], log_path=tmp_path / "g.log")
    with pytest.raises(InfraError, match="cannot run"):
        proc.start()


def test_env_replaces_the_environment(tmp_path: Path) -> None:
    code = "import os; print(sorted(k for k in os.environ if k != 'LC_CTYPE'), flush=True)"
    proc = ManagedProcess(
        "env", python(code), env={"ONLY_THIS": "1"}, log_path=tmp_path / "env.log"
    )
    proc.start()
    wait_for(lambda: proc.returncode is not None)
    assert "['ONLY_THIS']" in proc.log_tail()
