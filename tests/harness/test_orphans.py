"""`harness fleet up` SIGKILLed: nothing of its run survives (processes, ports, work dir).

SIGKILL cannot be caught, so no teardown of ours runs: the children die of their
parent-death signal, and `harness fleet sweep` removes the work directory the run left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.infra import lifeline
from harness.infra.base import Endpoint
from harness.infra.ports import port_open

from .fleet.conftest import TOXIPROXY_BIN

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FLEET = ROOT / "sample_services" / "fleet.yaml"
_DEADLINE = 15.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.e2e,
    pytest.mark.skipif(not lifeline.SUPPORTED, reason="no parent-death signal on this OS"),
]


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """TMPDIR for the run: the PostgreSQL user must get through it (pytest's tmp is 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="harness-orphans-test-"))
    directory.chmod(0o711)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"still {what} after {_DEADLINE:g} s"
        time.sleep(0.05)


def addresses(fleet: dict[str, Any]) -> list[Endpoint]:
    """Every address the run listened on: services, servers, Toxiproxy and its proxies."""
    found = [Endpoint.parse(s["url"].removeprefix("http://")) for s in fleet["services"].values()]
    found += [Endpoint.parse(info["address"]) for info in fleet["infra"].values()]
    found += [Endpoint.parse(edge["listen"]) for edge in fleet["edges"].values()]
    found.append(Endpoint.parse(fleet["toxiproxy"]["api"].removeprefix("http://")))
    return found


def test_a_sigkilled_fleet_up_leaves_nothing_once_swept(tmp_path: Path, private_tmp: Path) -> None:
    registry = tmp_path / "runs"
    env = {
        **os.environ,
        "TMPDIR": str(private_tmp),
        "HARNESS_RUNS_DIR": str(registry),
        "HARNESS_TOXIPROXY_BIN": str(TOXIPROXY_BIN),
    }
    up = [sys.executable, "-m", "harness.cli", "fleet", "up", "--json", "-m", str(SAMPLE_FLEET)]
    with subprocess.Popen(
        up, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as cli:
        assert cli.stdout is not None
        assert cli.stderr is not None
        line = cli.stdout.readline()  # the fleet, once it is up
        assert line, cli.stderr.read()
        fleet = json.loads(line)
        workdir = Path(fleet["workdir"])
        listening = addresses(fleet)
        # Everything the run started, PostgreSQL's backends included.
        started = [p.pid for p in psutil.Process(cli.pid).children(recursive=True)]
        assert len(fleet["services"]) == 6
        assert len(fleet["infra"]) == 2
        assert {svc["pid"] for svc in fleet["services"].values()} <= set(started)
        # The services were forked by the fleet's zygote (the default launcher).
        assert fleet["zygote"] in started
        assert {psutil.Process(s["pid"]).ppid() for s in fleet["services"].values()} == {
            fleet["zygote"]
        }
        assert all(port_open(ep.host, ep.port) for ep in listening)
        assert workdir.parent == private_tmp
        assert len(list(registry.glob("run-*.jsonl"))) == 1

        cli.send_signal(signal.SIGKILL)
        assert cli.wait(timeout=_DEADLINE) == -signal.SIGKILL

    wait_until(lambda: not [pid for pid in started if alive(pid)], "alive")
    wait_until(lambda: not [ep for ep in listening if port_open(ep.host, ep.port)], "listening")
    # No teardown ran: the work directory is still there, for the sweep.
    assert workdir.is_dir()

    sweep = subprocess.run(
        [sys.executable, "-m", "harness.cli", "fleet", "sweep"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert sweep.returncode == 0, sweep.stderr
    assert f"removed {workdir}" in sweep.stdout
    assert "1 dead run(s) swept" in sweep.stdout
    assert not workdir.exists()
    assert list(private_tmp.iterdir()) == []
    assert list(registry.iterdir()) == []
