"""The plugin costs nothing until a suite is asked for, and says which extra is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import extras
from harness.cli import app

HEAVY = ("pact", "schemathesis", "hypothesis", "matplotlib", "networkx", "locust")
PROBE = """
import sys, pytest
code = pytest.main(sys.argv[1:])
print("HEAVY=" + ",".join(sorted({m.split(".")[0] for m in sys.modules} & set(%r))))
raise SystemExit(code)
"""


def imported_by_a_collection(tmp_path: Path, *options: str) -> list[str]:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    # Other plugins off: pact and schemathesis register pytest plugins of their own that
    # import them in any run; this is about ours.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    argv = ["--co", "-q", "-p", "no:cacheprovider", "-p", "harness.pytest_plugin", *options]
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *argv, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 test collected" in done.stdout
    line = next(x for x in done.stdout.splitlines() if x.startswith("HEAVY="))
    return [name for name in line.removeprefix("HEAVY=").split(",") if name]


def test_a_collection_without_switches_imports_no_suite(tmp_path: Path) -> None:
    assert imported_by_a_collection(tmp_path) == []


def test_the_probe_sees_a_suite_when_one_is_asked_for(tmp_path: Path) -> None:
    # The same probe with --load registers the load suite: it does see imports.
    assert "matplotlib" in imported_by_a_collection(tmp_path, "--load")


@pytest.fixture
def without_pact(monkeypatch: pytest.MonkeyPatch) -> None:
    real = extras.find_spec
    monkeypatch.setattr(extras, "find_spec", lambda name: None if name == "pact" else real(name))


def test_a_missing_extra_is_named_by_the_plugin(without_pact: None) -> None:
    from harness.pytest_plugin import _suite_module

    with pytest.raises(pytest.UsageError, match=r"pip install 'harness\[contracts\]'"):
        _suite_module("contracts")


def test_a_missing_extra_is_bad_input_for_the_cli(without_pact: None) -> None:
    result = CliRunner().invoke(app, ["contracts", "verify"])
    assert result.exit_code == 2
    assert "harness contracts needs the contracts extra" in result.output
    assert "pip install 'harness[contracts]' (missing: pact)" in result.output


def test_a_game_day_needs_the_chaos_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = extras.find_spec
    monkeypatch.setattr(extras, "find_spec", lambda name: None if name == "locust" else real(name))
    result = CliRunner().invoke(app, ["gameday", str(tmp_path / "any.yaml")])
    assert result.exit_code == 2
    assert "pip install 'harness[chaos]' (missing: locust)" in result.output


def test_the_chaos_suite_is_registered_only_with_its_switch(tmp_path: Path) -> None:
    # A game-day plots its timeline (and runs a load): --chaos brings load's modules in.
    assert "matplotlib" in imported_by_a_collection(tmp_path, "--chaos")
