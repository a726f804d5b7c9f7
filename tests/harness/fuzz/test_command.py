"""`harness fuzz`: bad input stops before anything starts; a run fuzzes, reports and exits."""

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

from .conftest import REPO, app_service

HARNESS = [sys.executable, "-m", "harness.cli"]


def project(
    tmp_path: Path, *, bugs: str = "", fuzz: str | None = None, app: str = "notes", **service: Any
) -> Path:
    """A project: harness.toml, a fleet of the notes app, fuzz settings.

    The services carry the project's path in their environment, so a test can find them
    wherever they were reparented.
    """
    (tmp_path / "harness.toml").write_text(
        'manifest = "fleet.yaml"\nreport_dir = "reports"\n[fuzz]\nci_seed = 3\n'
    )
    manifest = {
        "version": 1,
        "name": "notes",
        "root": str(REPO),
        "services": {
            "notes": app_service(app, env={"BUGS": bugs, "FLEET_OWNER": str(tmp_path)}, **service)
        },
    }
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(manifest))
    settings = tmp_path / "scenarios" / "fuzz" / "fuzz.yaml"
    settings.parent.mkdir(parents=True)
    settings.write_text(fuzz or "version: 1\nmax_examples: 10\nstateful: {max_examples: 3}\n")
    return tmp_path


def harness(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CI", None)
    env.pop("HARNESS_FUZZ_SEED", None)
    command = [*HARNESS, "fuzz", *args]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def fleet_processes(root: Path) -> list[int]:
    """Live processes of the fleet of the project at ``root``, whoever their parent is now.

    Looking for our own descendants would miss a leaked service: when `harness` exits, its
    orphans are reparented away from us.
    """
    found = []
    for proc in psutil.process_iter():
        try:
            if (
                proc.environ().get("FLEET_OWNER") == str(root)
                and proc.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def test_a_bad_settings_file_is_exit_2_and_nothing_starts(tmp_path: Path) -> None:
    root = project(tmp_path, fuzz="version: 1\nservices:\n  notez: {}\n")
    done = harness(root)
    assert done.returncode == 2, done.stderr
    assert "fuzz.yaml:3: services.notez: unknown service 'notez' (services: notes)" in done.stderr
    assert "booting" not in done.stderr
    assert not (root / "reports").exists()


def test_a_bad_baseline_is_exit_2(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "broken.json").write_text('{"version": 1, "entries": [{}]}')
    done = harness(root, "--baseline", "broken.json")
    assert done.returncode == 2, done.stderr
    assert "broken.json: entries[0]: missing service" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--service", "nope"), "unknown service(s) nope (services: notes)"),
        (("--operation", "nope"), "--operation 'nope': expected 'METHOD /path'"),
        (("--operation", "GIMME /notes"), "expected 'METHOD /path'"),
        (("--settings", "missing.yaml"), "missing.yaml: file not found"),
        (("--manifest", "missing.yaml"), "missing.yaml"),
        (("--provider", "k8s"), "provider: Input should be 'local', 'docker' or 'external'"),
        (("--max-examples", "0"), "--max-examples"),
        (("--seed", "many"), "--seed"),
    ],
)
def test_bad_input_exits_2_before_anything_starts(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    root = project(tmp_path)
    done = harness(root, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "fuzzing" not in done.stderr
    assert fleet_processes(root) == []
    assert not (root / "reports").exists()


def test_a_fleet_without_an_openapi_is_nothing_to_fuzz_exit_2_and_nothing_starts(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, openapi=None)
    done = harness(root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        "nothing to fuzz: no service to fuzz (no OpenAPI (manifest openapi: null): notes)"
        in done.stderr
    )
    assert "fuzz passed" not in done.stdout
    assert not (root / "reports").exists()


@pytest.mark.slow
def test_an_operation_the_service_lacks_is_bad_input_and_leaves_nothing(tmp_path: Path) -> None:
    # Well-formed, so only the running service's OpenAPI can refute it: the fleet starts,
    # is asked, and is torn down again; the answer lists the operations there are.
    root = project(tmp_path)
    done = harness(root, "--operation", "GET /nope")
    assert done.returncode == 2, done.stderr
    assert "no operation matches GET /nope (operations: " in done.stderr
    assert "POST /notes" in done.stderr
    assert fleet_processes(root) == []


@pytest.mark.slow
def test_an_openapi_without_operations_is_nothing_to_fuzz_exit_2(tmp_path: Path) -> None:
    root = project(tmp_path, app="empty")
    done = harness(root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "nothing to fuzz: no operation to fuzz (notes: 0 operation(s) in http" in done.stderr
    assert "fuzz passed" not in done.stdout
    assert fleet_processes(root) == []  # started to read the OpenAPI, then stopped


@pytest.mark.slow
def test_a_run_prints_its_seed_first_and_fails_on_new_failures(tmp_path: Path) -> None:
    root = project(tmp_path, bugs="server_error")
    done = harness(root, "--seed", "1234", "--json")

    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[0] == "harness fuzz: seed 1234 (given)"
    report = json.loads(done.stdout)
    assert (report["seed"], report["passed"]) == (1234, False)
    failed = [t for t in report["targets"] if t["outcome"] == "failed"]
    assert "notes POST /notes" in {t["id"] for t in failed}
    files = {p.name for p in (root / "reports" / "fuzz").iterdir()}
    assert files == {"fuzz.json", "fuzz.junit.xml", "fuzz.md"}
    assert fleet_processes(root) == []  # the fleet is gone

    # Recording the failures as the baseline makes the same run pass.
    updated = harness(root, "--seed", "1234", "--update-baseline")
    assert updated.returncode == 0, updated.stderr
    baseline = json.loads((root / "scenarios" / "fuzz" / "baseline.json").read_text())
    assert {e["check"] for e in baseline["entries"]} >= {"not_a_server_error"}
    again = harness(root, "--seed", "99", "--service", "notes", "--operation", "POST /notes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "fuzz passed: 0 new failure(s)" in again.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_run_leaves_nothing_running(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    root = project(tmp_path, fuzz="version: 1\nmax_examples: 5000\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CI", None)
    with subprocess.Popen(
        [*HARNESS, "fuzz"], cwd=root, env=env, stderr=subprocess.PIPE, text=True
    ) as run:
        assert run.stderr is not None
        for line in run.stderr:
            if line.startswith("fuzzing "):
                break  # the fleet is up and fuzzing has begun
        started = {p.pid for p in psutil.Process(run.pid).children(recursive=True)}
        assert started, "the fleet's service should be running"
        run.send_signal(sig)
        assert run.wait(timeout=60) == code
    assert not [pid for pid in started if psutil.pid_exists(pid)]
