"""The zygote against real processes: small modules written into a tmp dir, forked from it."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from harness.infra import runs
from harness.infra.process import LaunchRefused, ManagedProcess
from harness.infra.zygote import SUPPORTED, Zygote, ZygoteChild

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SUPPORTED, reason="the zygote needs Linux"),
]

# Preloaded: remembers which process imported it.
SHARED = """
import os
IMPORTED_BY = os.getpid()
"""

# A service: reports what it sees into REPORT (a JSON file), says so on stdout and stderr,
# then serves (sleeps) until stopped; EXIT_CODE makes it exit at once instead.
SERVICE = """
import json, os, sys, time
import shared

report = {
    "pid": os.getpid(),
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "path0": sys.path[0],
    "argv": sys.argv,
    "name": __name__,
    "shared_imported_by": shared.IMPORTED_BY,
    "pgid": os.getpgid(0),
    "sid": os.getsid(0),
    "stdin": sys.stdin.read(),
}
with open(os.environ["REPORT"] + ".tmp", "w") as out:
    json.dump(report, out)
os.replace(os.environ["REPORT"] + ".tmp", os.environ["REPORT"])
print("service out", flush=True)
print("service err", file=sys.stderr, flush=True)
if "EXIT_CODE" in os.environ:
    sys.exit(int(os.environ["EXIT_CODE"]))
while True:
    time.sleep(0.05)
"""

# Starts a thread when imported: forking after it would be unsafe.
THREADED = """
import threading, time
threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
"""

MakeZygote = Callable[..., Zygote]


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "shared.py").write_text(SHARED)
    (code / "service.py").write_text(SERVICE)
    (code / "threaded.py").write_text(THREADED)
    return code


@pytest.fixture
def make_zygote(code_dir: Path, tmp_path: Path) -> Iterator[MakeZygote]:
    made: list[Zygote] = []

    def make(preload: tuple[str, ...] = ("shared",)) -> Zygote:
        zygote = Zygote(
            preload,
            cwd=code_dir,
            env=_base_env(),
            log_path=tmp_path / f"zygote-{len(made)}.log",
        )
        made.append(zygote)
        zygote.start()
        return zygote

    yield make
    for zygote in made:
        zygote.close()


@pytest.fixture
def make_service(code_dir: Path, tmp_path: Path) -> Iterator[Callable[..., ManagedProcess]]:
    started: list[ManagedProcess] = []

    def make(name: str, zygote: Zygote | None, **env: str) -> ManagedProcess:
        process = ManagedProcess(
            name,
            [sys.executable, "-m", "service", "--flag", name],
            env={**_base_env(), "REPORT": str(tmp_path / f"{name}.json"), **env},
            cwd=code_dir,
            log_path=tmp_path / "logs" / f"{name}.log",
            launcher=zygote,
        )
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop(timeout=2.0)


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REPORT", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _report(tmp_path: Path, name: str, process: ManagedProcess) -> dict[str, object]:
    path = tmp_path / f"{name}.json"
    process.wait_until(path.exists, timeout=30.0, what=f"{path} written")
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def test_a_child_runs_its_module_as_python_m_would_with_the_preload_shared(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    zygote = make_zygote()
    service = make_service("one", zygote, ONLY_ONE="1")
    service.start()
    report = _report(tmp_path, "one", service)

    assert isinstance(service._popen, ZygoteChild)
    assert report["pid"] == service.pid
    assert report["name"] == "__main__"
    assert report["argv"] == [str(tmp_path / "code" / "service.py"), "--flag", "one"]
    assert report["cwd"] == str(tmp_path / "code")
    assert report["path0"] == str(tmp_path / "code")
    # Imported once, by the zygote, not by the child.
    assert report["shared_imported_by"] == zygote.pid
    assert zygote.wait_ready()["preloaded"] == ["shared"]
    # Its own session and process group, like start_new_session=True; stdin is empty.
    assert report["pgid"] == report["sid"] == service.pid
    assert report["stdin"] == ""
    assert psutil.Process(service.pid).ppid() == zygote.pid
    # Its command line is the zygote's (fork copies it); its name is the service's.
    assert psutil.Process(service.pid).name() == "one"


def test_each_child_sees_only_its_own_environment(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    zygote = make_zygote()
    first = make_service("first", zygote, ONLY_FIRST="a", SHARED_NAME="first")
    second = make_service("second", zygote, SHARED_NAME="second")
    first.start()
    second.start()
    env_first = _report(tmp_path, "first", first)["env"]
    env_second = _report(tmp_path, "second", second)["env"]
    assert isinstance(env_first, dict)
    assert isinstance(env_second, dict)

    assert env_first["ONLY_FIRST"] == "a"
    assert env_first["SHARED_NAME"] == "first"
    assert "ONLY_FIRST" not in env_second
    assert env_second["SHARED_NAME"] == "second"
    # Exactly the environment it was given: nothing of the zygote's own is left over.
    given = {**_base_env(), "REPORT": str(tmp_path / "second.json"), "SHARED_NAME": "second"}
    assert env_second == given


def test_output_goes_to_the_service_log_after_the_harness_line(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    service = make_service("logged", make_zygote())
    service.start()
    _report(tmp_path, "logged", service)
    service.wait_until(lambda: "service err" in service.log_tail(), timeout=10.0)

    lines = service.log_path.read_text().splitlines()
    assert lines[0].startswith("--- harness ")
    assert " start " in lines[0]
    assert "service out" in lines
    assert "service err" in lines
    assert "plain way" not in service.log_path.read_text()


def test_exit_status_is_reported_like_popen(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    zygote = make_zygote()
    exits = make_service("exits", zygote, EXIT_CODE="3")
    exits.start()
    assert exits._popen is not None
    assert exits._popen.wait(timeout=30.0) == 3
    assert exits.returncode == 3
    assert not exits.running

    killed = make_service("killed", zygote)
    killed.start()
    _report(tmp_path, "killed", killed)
    killed.kill()
    assert killed.returncode == -signal.SIGKILL


def test_one_service_restarts_through_the_zygote_and_the_others_carry_on(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    zygote = make_zygote()
    restarted = make_service("restarted", zygote)
    other = make_service("other", zygote)
    restarted.start()
    other.start()
    _report(tmp_path, "other", other)
    first_pid = _report(tmp_path, "restarted", restarted)["pid"]
    (tmp_path / "restarted.json").unlink()

    restarted.restart()
    second = _report(tmp_path, "restarted", restarted)

    assert second["pid"] != first_pid
    assert second["pid"] == restarted.pid
    assert isinstance(restarted._popen, ZygoteChild)
    assert _gone(int(str(first_pid)))
    assert other.running
    assert psutil.pid_exists(int(str(other.pid)))
    # The run registry knows the new process, not the old one.
    record = runs.current()
    journal = runs.Journal.parse(record.path, record.path.read_text())
    recorded = {pid for pid, _ in journal.processes}
    assert restarted.pid in recorded
    assert first_pid not in recorded


def test_children_die_with_the_zygote(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    zygote = make_zygote()
    services = [make_service(name, zygote) for name in ("a", "b")]
    for service in services:
        service.start()
    pids = [int(str(_report(tmp_path, s.name, s)["pid"])) for s in services]
    assert zygote.process is not None
    assert zygote.pid is not None

    os.kill(zygote.pid, signal.SIGKILL)  # no goodbye: only the parent-death signal is left

    assert all(_gone(pid) for pid in pids)
    deadline = time.monotonic() + 10.0
    while any(s.running for s in services) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(s.running for s in services)


def test_a_service_started_after_the_zygote_is_gone_starts_the_plain_way(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    zygote = make_zygote()
    zygote.close()
    service = make_service("late", zygote)
    service.start()
    report = _report(tmp_path, "late", service)

    assert not isinstance(service._popen, ZygoteChild)
    assert "the zygote is" in service.log_path.read_text()
    # Its own interpreter imported the module itself.
    assert report["shared_imported_by"] == service.pid


def test_preloaded_modules_that_start_a_thread_make_the_zygote_refuse(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    zygote = make_zygote(("shared", "threaded"))
    assert zygote.wait_ready()["threads"] > 1
    with pytest.raises(LaunchRefused, match="thread"):
        zygote.launch(make_service("direct", zygote))

    service = make_service("refused", zygote)
    service.start()
    _report(tmp_path, "refused", service)
    assert not isinstance(service._popen, ZygoteChild)
    assert "forking is unsafe; started the plain way" in service.log_path.read_text()


def test_what_the_zygote_cannot_start_faithfully_starts_the_plain_way(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess]
) -> None:
    zygote = make_zygote()
    # Interpreter settings are read at start-up: the zygote's cannot change.
    with pytest.raises(LaunchRefused, match="PYTHONHASHSEED"):
        zygote.launch(make_service("seeded", zygote, PYTHONHASHSEED="7"))
    script = make_service("script", zygote)
    script.argv = (sys.executable, "service.py")
    with pytest.raises(LaunchRefused, match="-m module"):
        zygote.launch(script)


def test_a_failed_preload_is_reported_and_costs_nothing_else(
    make_zygote: MakeZygote, make_service: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    zygote = make_zygote(("shared", "no_such_module_here"))
    ready = zygote.wait_ready()
    assert ready["preloaded"] == ["shared"]
    assert "no_such_module_here" in ready["failed"]

    service = make_service("after", zygote)
    service.start()
    assert _report(tmp_path, "after", service)["shared_imported_by"] == zygote.pid
