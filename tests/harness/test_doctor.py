"""`harness doctor` and `harness setup toxiproxy`: what is found, what is missing, what next."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import doctor
from harness.cli import app
from harness.config import load_config
from harness.errors import InfraError
from harness.infra import toxiproxy_install
from harness.infra.local_toxiproxy import find_toxiproxy_server

from .fleet.conftest import TOXIPROXY_BIN

runner = CliRunner()

MANIFEST = """\
version: 1
infra:
  db: {kind: postgres}
  bus: {kind: redis}
services:
  a: {command: [python3, -c, "pass"], database: {infra: db, name: a}, broker: {infra: bus}}
  b: {command: [no-such-program-here]}
"""


def test_doctor_reports_each_part_and_the_next_step_for_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    config = load_config(
        start=tmp_path,
        overrides={
            "manifest": str(tmp_path / "fleet.yaml"),
            "infra.toxiproxy_bin": str(TOXIPROXY_BIN),
            "infra.postgres_bindir": str(tmp_path / "empty"),
        },
        environ={},
    )
    (tmp_path / "fleet.yaml").write_text(MANIFEST)
    report = doctor.diagnose(config)
    checks = {check.name: check for check in report.checks}
    assert report.ok is False
    assert checks["toxiproxy"].ok
    assert checks["toxiproxy"].found == f"{TOXIPROXY_BIN} (v2.12.0)"
    assert checks["postgresql"].needed
    assert not checks["postgresql"].ok
    assert "apt-get install postgresql" in checks["postgresql"].next_step
    assert "HARNESS_POSTGRES_BINDIR" in checks["postgresql"].next_step
    assert checks["redis"].needed
    assert checks["redis"].ok == (shutil.which("redis-server") is not None)
    assert checks["service a"].ok
    assert not checks["service b"].ok
    assert "install `no-such-program-here`" in checks["service b"].next_step
    # Go matters only when Toxiproxy is missing.
    assert checks["go"].needed is False


def test_doctor_exits_0_when_the_fleet_can_run_and_1_when_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("version: 1\nservices:\n  a: {command: [python3, -c, pass]}\n")
    monkeypatch.setenv("HARNESS_TOXIPROXY_BIN", str(TOXIPROXY_BIN))
    good = runner.invoke(app, ["doctor", "--json", "--manifest", str(path)])
    assert good.exit_code == 0, good.output
    report = json.loads(good.output)
    assert report["ok"] is True
    # Neither PostgreSQL nor Redis is needed by this manifest.
    assert {c["name"]: c["needed"] for c in report["checks"]}["postgresql"] is False

    monkeypatch.setenv("HARNESS_TOXIPROXY_BIN", str(tmp_path / "nowhere"))
    bad = runner.invoke(app, ["doctor", "--json", "--manifest", str(path)])
    assert bad.exit_code == 1
    toxiproxy = {c["name"]: c for c in json.loads(bad.output)["checks"]}["toxiproxy"]
    assert toxiproxy["ok"] is False
    assert "harness setup toxiproxy" in toxiproxy["next_step"]

    table = runner.invoke(app, ["doctor", "--manifest", str(path)])
    assert table.exit_code == 1
    assert "cannot run yet" in table.output


def test_doctor_without_a_manifest_says_where_to_write_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["doctor", "--json", "--manifest", str(tmp_path / "no.yaml")])
    assert result.exit_code == 1
    manifest = json.loads(result.output)["checks"][0]
    assert manifest["name"] == "manifest"
    assert "Point it at your own fleet" in manifest["next_step"]


def test_doctor_with_a_bad_manifest_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("version: 1\nservices: {a: {command: x, colour: red}}\n")
    result = runner.invoke(app, ["doctor", "--manifest", str(path)])
    assert result.exit_code == 2
    assert "unknown field 'colour'" in result.output


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client")
def test_the_docker_check_names_the_engine_or_how_to_start_it() -> None:
    check = doctor._docker(needed=True)
    assert check.name == "docker"
    assert (check.ok and "engine" in check.found) or "start the Docker engine" in check.next_step


def test_the_user_cache_is_searched_after_the_repository_and_before_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "/nonexistent")
    outside = tmp_path / "project"
    outside.mkdir()
    with pytest.raises(InfraError, match=r"harness setup toxiproxy"):
        find_toxiproxy_server(cwd=outside)
    cached = toxiproxy_install.cache_dir() / "toxiproxy-server"
    assert cached == tmp_path / "cache" / "harness" / "toxiproxy" / "v2.12.0" / "toxiproxy-server"
    cached.parent.mkdir(parents=True)
    shutil.copy2(TOXIPROXY_BIN, cached)
    assert find_toxiproxy_server(cwd=outside) == str(cached)
    # The repository's .tools/bin still comes first.
    repo = TOXIPROXY_BIN.parents[2]
    assert find_toxiproxy_server(cwd=repo) == str(repo / ".tools" / "bin" / "toxiproxy-server")


def test_setup_keeps_a_build_that_is_there_and_says_how_to_get_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "bin"
    dest.mkdir()
    for name in ("toxiproxy-server", "toxiproxy-cli"):
        (dest / name).write_text("#!/bin/sh\n")
    (dest / ".toxiproxy-version").write_text("v2.12.0\n")
    said: list[str] = []
    assert toxiproxy_install.build(dest=dest, go="/no/go", say=said.append) == (
        dest / "toxiproxy-server"
    )
    assert said == [f"toxiproxy v2.12.0: already in {dest}"]
    assert toxiproxy_install.installed_version(dest / "toxiproxy-server") == "v2.12.0"

    monkeypatch.setattr(toxiproxy_install, "find_go", lambda: None)
    with pytest.raises(InfraError, match=r"apt-get install golang-go"):
        toxiproxy_install.build(dest=tmp_path / "fresh")
    result = runner.invoke(app, ["setup", "toxiproxy", "--dest", str(tmp_path / "fresh")])
    assert result.exit_code == 1
    assert "Go is needed" in result.output
    assert not (tmp_path / "fresh" / "toxiproxy-server").exists()
