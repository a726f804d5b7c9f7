"""The pytest plugin, tested as users meet it: through pytest runs of their own test files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from .fleet.conftest import TOXIPROXY_BIN, standin_service

pytest_plugins = ["pytester"]

CALLER_CALLEE = {
    "version": 1,
    "name": "standin",
    "services": {
        "a": standin_service("a", calls={"b": {"env": "CALLEE_URL"}}),
        "b": standin_service("b"),
    },
}

FLEET_TESTS = """
import httpx

http = httpx.Client(trust_env=False, timeout=10)
seen = []

def call(fleet):
    return http.get(fleet.url("a") + "/call").json()

def test_fleet_serves(fleet):
    seen.append(id(fleet))
    assert call(fleet)["callee"] == {"service": "b"}

def test_edge_fault_is_felt(fleet, edge):
    seen.append(id(fleet))
    with edge("a->b").latency(200):
        assert call(fleet)["elapsed_ms"] >= 200

def test_edge_fault_left_behind(edge):
    edge("a->b").latency(500).inject()  # the fixture must clear this

def test_edge_was_cleared(toxiproxy, fleet):
    seen.append(id(fleet))
    assert toxiproxy.toxics("a__b") == []
    assert call(fleet)["elapsed_ms"] < 200

def test_one_fleet_per_session():
    assert len(set(seen)) == 1
"""


@pytest.fixture
def toxiproxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TOXIPROXY_BIN", str(TOXIPROXY_BIN))


# pytest-asyncio, where installed, warns about its own unset option in every inner run.
QUIET = ("-p", "no:asyncio", "-p", "no:cacheprovider")
# Runs that start a fleet go to a subprocess: an in-process run unloads the modules it
# imported (httpcore among them) while httpx keeps references to their exception classes.


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_options_and_ini_settings_appear_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*QUIET, "--help")
    result.stdout.fnmatch_lines(
        [
            "harness: contract and chaos testing of a fleet:",
            "*--harness-manifest=PATH*",
            "*--harness-provider=*",
            "*--contracts*",
            "*--fuzz*",
            "*--load*",
            "*--chaos*",
            "*--contracts-update-baseline*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*harness_manifest*", "*harness_provider*", "*harness_chaos_scenarios*"]
    )
    # The docker provider works now (issue 12): offered, with its marker.
    result.stdout.fnmatch_lines(["*--harness-provider={local,docker,external}*"])
    assert "--update-baseline " not in result.stdout.str()


@pytest.mark.slow
def test_fixtures_run_a_fleet_for_the_session_and_clear_edges(
    pytester: pytest.Pytester, toxiproxy_env: None
) -> None:
    (pytester.path / "fleet.yaml").write_text(yaml.safe_dump(CALLER_CALLEE))
    # Through the ini option, relative to the rootdir, as a project would configure it.
    pytester.makeini("[pytest]\nharness_manifest = fleet.yaml\n")
    pytester.makepyfile(test_fleet=FLEET_TESTS)
    before = children()
    result = pytester.runpytest_subprocess(*QUIET)
    result.assert_outcomes(passed=5)
    assert children() == before


@pytest.mark.slow
def test_command_line_option_beats_the_ini(pytester: pytest.Pytester, toxiproxy_env: None) -> None:
    (pytester.path / "good.yaml").write_text(yaml.safe_dump(CALLER_CALLEE))
    pytester.makeini("[pytest]\nharness_manifest = missing.yaml\n")
    pytester.makepyfile(
        test_one="def test_up(fleet):\n    assert set(fleet.services) == {'a', 'b'}\n"
    )
    result = pytester.runpytest_subprocess(
        *QUIET, "--harness-manifest", str(pytester.path / "good.yaml")
    )
    result.assert_outcomes(passed=1)


def test_a_bad_manifest_errors_cleanly(pytester: pytest.Pytester) -> None:
    bad = pytester.path / "bad.yaml"
    bad.write_text("version: 1\nservices:\n  a:\n    module: m\n    colour: red\n")
    pytester.makepyfile(
        test_bad="def test_one(fleet):\n    pass\n\ndef test_two(fleet):\n    pass\n"
    )
    before = children()
    result = pytester.runpytest(*QUIET, f"--harness-manifest={bad}")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*harness: invalid manifest*", f"*{bad}:5: services.a.colour: unknown field 'colour'*"]
    )
    # A clean report: the user's file and field, not the harness's traceback.
    result.stdout.no_fnmatch_line("*harness/fleet/launch.py*")
    assert children() == before


def test_tests_without_the_fleet_start_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    before = children()
    result = pytester.runpytest(*QUIET, "--harness-manifest=does-not-exist.yaml")
    result.assert_outcomes(passed=1)
    assert children() == before


@pytest.mark.slow
def test_sigterm_ends_the_session_and_tears_the_fleet_down(tmp_path: Path) -> None:
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(CALLER_CALLEE))
    described = tmp_path / "fleet.json"
    (tmp_path / "test_wait.py").write_text(
        "import json, time\n"
        "def test_wait(fleet):\n"
        f"    open({str(described)!r}, 'w').write(json.dumps(fleet.describe()))\n"
        "    time.sleep(120)\n"
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "HARNESS_TOXIPROXY_BIN": str(TOXIPROXY_BIN)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:asyncio"]
    command += ["--harness-manifest=fleet.yaml", "test_wait.py"]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as run:
        deadline = time.monotonic() + 60
        while not described.exists() or not described.read_text():
            assert run.poll() is None, run.stdout.read() if run.stdout else ""
            assert time.monotonic() < deadline, "the fleet did not come up"
            time.sleep(0.05)
        fleet = json.loads(described.read_text())
        descendants = [p.pid for p in psutil.Process(run.pid).children(recursive=True)]
        assert len(descendants) == 3  # a, b and Toxiproxy
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=60)

    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "Terminated: received SIGTERM" in output or "KeyboardInterrupt" in output
    assert not [pid for pid in descendants if psutil.pid_exists(pid)]
    assert not Path(fleet["workdir"]).exists()
    assert list(temp.iterdir()) == []
