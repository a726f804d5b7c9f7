"""The `harness` command: exit codes, output, and teardown when the foreground fleet is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app

from .fleet.conftest import TOXIPROXY_BIN, standin_service

runner = CliRunner()


def write(path: Path, manifest: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


CALLER_CALLEE = {
    "version": 1,
    "name": "standin",
    "services": {
        "a": standin_service("a", calls={"b": {"env": "CALLEE_URL"}}),
        "b": standin_service("b"),
    },
}


def test_help_lists_the_fleet_commands() -> None:
    result = runner.invoke(app, ["fleet", "--help"])
    assert result.exit_code == 0
    for command in ("up", "smoke", "validate"):
        assert command in result.output


def test_gameday_without_a_scenario_is_a_usage_error() -> None:
    result = runner.invoke(app, ["gameday"])
    assert result.exit_code == 2
    assert "Missing argument" in result.output


def test_validate_accepts_a_good_manifest(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["fleet", "validate", str(write(tmp_path / "f.yaml", CALLER_CALLEE))]
    )
    assert result.exit_code == 0, result.output
    assert "valid: 2 services, 0 infra, 1 edges; start order: b, a" in result.output


def test_validate_rejects_a_bad_manifest_with_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("version: 1\nservices:\n  a:\n    module: m\n    calls: {x: {env: X_URL}}\n")
    result = runner.invoke(app, ["fleet", "validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:5: services.a.calls.x: unknown service 'x'" in result.output


def test_up_with_a_bad_manifest_exits_2_and_starts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("version: 1\nservices:\n  a: {module: m, colour: red}\n")
    before = psutil.Process().children(recursive=True)
    result = runner.invoke(app, ["fleet", "up", "--manifest", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3: services.a.colour: unknown field 'colour'" in result.output
    assert psutil.Process().children(recursive=True) == before


def test_smoke_with_a_bad_manifest_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("version: 1\nservices: {}\n")
    result = runner.invoke(app, ["fleet", "smoke", "--manifest", str(path), "--json"])
    assert result.exit_code == 2
    assert "services" in result.output


def test_smoke_with_an_unknown_edge_exits_2_before_booting(tmp_path: Path) -> None:
    path = write(tmp_path / "f.yaml", CALLER_CALLEE)
    before = psutil.Process().children(recursive=True)
    result = runner.invoke(app, ["fleet", "smoke", "--manifest", str(path), "--edge", "x->y"])
    assert result.exit_code == 2
    assert "--edge 'x->y': not an edge of" in result.output
    assert "(edges: a->b)" in result.output
    assert "booting" not in result.output
    assert psutil.Process().children(recursive=True) == before


@pytest.mark.parametrize(
    "args",
    [
        ["fleet", "up", "--provider", "k8s"],
        ["fleet", "smoke", "--samples", "0"],
        ["fleet", "validate", "missing.yaml"],
        ["load", "missing.yaml"],
        ["contracts", "verify", "--manifest", "missing.yaml"],
        ["can-i-deploy"],
        ["gameday"],
    ],
)
def test_every_command_refuses_bad_input_with_2(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = psutil.Process().children(recursive=True)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert psutil.Process().children(recursive=True) == before


def test_bad_configuration_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_PROVIDER", "cloud")
    result = runner.invoke(app, ["fleet", "up", "--manifest", str(tmp_path / "f.yaml")])
    assert result.exit_code == 2
    assert "environment: provider" in result.output


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)]
)
def test_stopping_fleet_up_leaves_no_process_and_no_directory(
    tmp_path: Path, signum: signal.Signals, exit_code: int
) -> None:
    manifest = write(tmp_path / "fleet.yaml", CALLER_CALLEE)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "HARNESS_TOXIPROXY_BIN": str(TOXIPROXY_BIN)}
    command = [sys.executable, "-m", "harness.cli", "fleet", "up", "--json", "-m", str(manifest)]
    with subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as cli:
        assert cli.stdout is not None
        assert cli.stderr is not None
        line = cli.stdout.readline()  # the fleet, once it is up
        assert line, cli.stderr.read()
        fleet = json.loads(line)
        pids = [svc["pid"] for svc in fleet["services"].values()] + [fleet["toxiproxy"]["pid"]]
        descendants = [p.pid for p in psutil.Process(cli.pid).children(recursive=True)]
        assert sorted(pids) == sorted(descendants)
        assert all(_alive(pid) for pid in pids)
        assert Path(fleet["workdir"]).parent == temp

        cli.send_signal(signum)
        assert cli.wait(timeout=30) == exit_code
        stderr = cli.stderr.read()

    assert "the fleet was torn down" in stderr
    assert [pid for pid in descendants if _alive(pid)] == []
    assert list(temp.iterdir()) == []


# A fleet that declares a smoke request which fails: b has no /token route (404).
SMOKE_FAILS = {
    **CALLER_CALLEE,
    "smoke": {
        "setup": [{"method": "POST", "service": "b", "path": "/token", "save": {"t": "x"}}],
        "request": {"service": "a", "path": "/call"},
        "fault": {"edge": "a->b", "latency_ms": 200},
        "samples": 1,
    },
}


@pytest.mark.slow
def test_smoke_failure_prints_the_step_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "fleet.yaml", SMOKE_FAILS)
    monkeypatch.setenv("HARNESS_TOXIPROXY_BIN", str(TOXIPROXY_BIN))
    before = psutil.Process().children(recursive=True)
    result = runner.invoke(app, ["fleet", "smoke", "--json", "--manifest", str(path)])
    assert result.exit_code == 1
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["ok"] is False
    assert summary["step"] == "setup[0]"
    assert "POST http://127.0.0.1:" in summary["reason"]
    # The stand-in's server answers with an HTML error page: quoted by its title and text.
    assert '/token -> 501 (expected [200]): HTML "Error response": Error' in summary["reason"]
    assert "<" not in summary["reason"]
    assert psutil.Process().children(recursive=True) == before


@pytest.mark.slow
def test_smoke_without_json_tells_a_person_where_it_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "fleet.yaml", SMOKE_FAILS)
    monkeypatch.setenv("HARNESS_TOXIPROXY_BIN", str(TOXIPROXY_BIN))
    result = runner.invoke(app, ["fleet", "smoke", "--manifest", str(path)])
    assert result.exit_code == 1
    assert "failed at setup[0]" in result.output
    assert "/token -> 501" in result.output
    assert '"ok"' not in result.output  # a table, not JSON


@pytest.mark.slow
def test_smoke_of_a_fleet_without_a_smoke_section_checks_readiness_and_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "fleet.yaml", CALLER_CALLEE)
    monkeypatch.setenv("HARNESS_TOXIPROXY_BIN", str(TOXIPROXY_BIN))
    result = runner.invoke(app, ["fleet", "smoke", "--json", "--manifest", str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["edges"] == {"a->b": "GET /readyz -> 200"}
    assert set(summary["services"]) == {"a", "b"}
    assert summary["flow"] is None


@pytest.mark.slow
def test_smoke_measures_the_declared_request_with_the_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = {
        **CALLER_CALLEE,
        "smoke": {
            "request": {"service": "a", "path": "/call", "save": {"callee": "callee.service"}},
            "fault": {"edge": "a->b", "latency_ms": 200},
            "samples": 2,
        },
    }
    path = write(tmp_path / "fleet.yaml", manifest)
    monkeypatch.setenv("HARNESS_TOXIPROXY_BIN", str(TOXIPROXY_BIN))
    result = runner.invoke(app, ["fleet", "smoke", "--json", "--manifest", str(path)])
    assert result.exit_code == 0, result.output
    flow = json.loads(result.output.strip().splitlines()[-1])["flow"]
    assert flow["fault_observed"] is True
    assert min(flow["timings"]["faulted"]["samples_ms"]) >= 200
    assert len(flow["timings"]["recovered"]["samples_ms"]) == 2
    assert flow["saved"] == ["callee", "run_id"]


def test_smoke_options_without_a_smoke_section_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path / "f.yaml", CALLER_CALLEE)
    result = runner.invoke(app, ["fleet", "smoke", "--manifest", str(path), "--edge", "a->b"])
    assert result.exit_code == 2
    assert "declares none" in result.output


def test_schema_describes_the_manifest() -> None:
    result = runner.invoke(app, ["fleet", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "Manifest"
    assert {"version", "services"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
