"""`harness can-i-deploy` and `harness contracts ...`: exit codes and what they print."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.contracts.matrix import row_for
from harness.contracts.matrix_notes import MatrixNotes
from harness.contracts.pactfile import read_pact
from tests.harness.contracts.conftest import (
    ROOT,
    commit_all,
    http_interaction,
    pact_document,
    write_pact,
)

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project: the sample manifest's services (never started here) and one pact."""
    manifest = yaml.safe_load((ROOT / "sample_services" / "fleet.yaml").read_text())
    manifest["root"] = str(ROOT)
    (tmp_path / "fleet.yaml").write_text(yaml.safe_dump(manifest))
    (tmp_path / "pyproject.toml").write_text('[tool.harness]\nmanifest = "fleet.yaml"\n')
    write_pact(
        tmp_path / "contracts" / "pacts",
        pact_document("gateway", "inventory", http_interaction("stock", path="/stock/S")),
    )
    commit_all(tmp_path)  # the matrix is kept in git notes
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_VERSION", "v1")
    monkeypatch.delenv("PACT_BROKER_BASE_URL", raising=False)
    return tmp_path


def _verified(project: Path, *, failed: list[str]) -> None:
    pact = read_pact(project / "contracts" / "pacts" / "gateway-inventory.json")
    row = row_for(
        pact,
        consumer_version="v1",
        provider_version="v1",
        failed=failed,
        pending_failed=[],
        interactions=1,
    )
    MatrixNotes.open(project).record([row])


def test_can_i_deploy_exits_0_when_verified_and_1_when_not(project: Path) -> None:
    missing = runner.invoke(app, ["can-i-deploy", "inventory"])
    assert missing.exit_code == 1
    assert "was never verified by inventory at this version" in missing.output
    _verified(project, failed=[])
    ok = runner.invoke(app, ["can-i-deploy", "inventory"])
    assert ok.exit_code == 0, ok.output
    assert "ok  gateway->inventory (inventory provides)" in ok.output
    assert "inventory @ v1: deployable" in ok.output
    assert runner.invoke(app, ["can-i-deploy", "inventory", "--version", "v2"]).exit_code == 1
    _verified(project, failed=["stock"])
    as_json = runner.invoke(app, ["can-i-deploy", "gateway", "--json"])
    assert as_json.exit_code == 1
    answer = json.loads(as_json.output)
    assert answer["deployable"] is False
    assert answer["checks"][0]["row"]["failed"] == ["stock"]


def test_can_i_deploy_refuses_an_unknown_service(project: Path) -> None:
    result = runner.invoke(app, ["can-i-deploy", "billing"])
    assert result.exit_code == 2
    assert "unknown service 'billing'" in result.output


def test_a_bad_contracts_file_is_bad_input_and_starts_nothing(project: Path) -> None:
    (project / "contracts" / "contracts.yaml").write_text("version: 2\n")
    result = runner.invoke(app, ["contracts", "verify"])
    assert result.exit_code == 2
    assert "contracts.yaml:1: version:" in result.output


def test_a_bad_manifest_is_bad_input_and_starts_nothing(project: Path) -> None:
    (project / "fleet.yaml").write_text("version: 1\nservices:\n  a: {calls: {b: {env: X}}}\n")
    result = runner.invoke(app, ["contracts", "openapi-check"])
    assert result.exit_code == 2
    assert "fleet.yaml:3: services.a" in result.output


def test_offline_openapi_check_uses_the_baselines(project: Path) -> None:
    shutil.copytree(ROOT / "contracts" / "openapi", project / "contracts" / "openapi")
    good = runner.invoke(app, ["contracts", "openapi-check", "--offline"])
    assert good.exit_code == 0, good.output
    write_pact(
        project / "contracts" / "pacts",
        pact_document("gateway", "inventory", http_interaction("history", path="/history")),
    )
    drift = runner.invoke(app, ["contracts", "openapi-check", "--offline"])
    assert drift.exit_code == 1
    assert "inventory's OpenAPI has no operation for GET /history" in drift.output


def test_verify_with_an_unknown_provider_is_bad_input(project: Path) -> None:
    result = runner.invoke(app, ["contracts", "verify", "--provider", "billing"])
    assert result.exit_code == 2
    assert "no pact names billing" in result.output


def test_verify_without_a_pact_is_bad_input_saying_why(project: Path) -> None:
    # Zero verified interactions is not a pass: nothing to verify is said, exit 2.
    (project / "contracts" / "pacts" / "gateway-inventory.json").unlink()
    result = runner.invoke(app, ["contracts", "verify"])
    assert result.exit_code == 2, result.output
    assert "nothing to verify: no pact with an interaction in" in result.output
