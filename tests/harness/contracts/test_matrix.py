"""The verification matrix and can-i-deploy, without a broker."""

from __future__ import annotations

import json
from pathlib import Path

from harness.contracts.matrix import Matrix, can_i_deploy, row_for
from harness.contracts.pactfile import PactFile, parse_pact
from tests.harness.contracts.conftest import http_interaction, pact_document


def pact(consumer: str, provider: str, status: int = 200) -> PactFile:
    doc = pact_document(consumer, provider, http_interaction("a", status=status))
    return parse_pact(doc, Path(f"{consumer}-{provider}.json"))


def record(matrix: Matrix, p: PactFile, version: str, failed: list[str] | None = None) -> None:
    matrix.record(
        row_for(
            p,
            consumer_version=version,
            provider_version=version,
            failed=failed or [],
            pending_failed=[],
            interactions=1,
        )
    )


def test_recording_the_same_verification_again_does_not_churn(tmp_path: Path) -> None:
    matrix = Matrix(tmp_path / "matrix.json")
    p = pact("web", "stock")
    record(matrix, p, "v1")
    assert matrix.save() is True
    again = Matrix.load(tmp_path / "matrix.json")
    record(again, p, "v1")
    assert again.save() is False
    assert len(again.rows) == 1
    record(again, p, "v1", failed=["a"])
    assert again.save() is True
    saved = json.loads((tmp_path / "matrix.json").read_text())["verifications"]
    assert [(r["success"], r["failed"]) for r in saved] == [(False, ["a"])]


def test_can_i_deploy_needs_a_successful_row_for_every_pact(tmp_path: Path) -> None:
    web_stock, stock_db = pact("web", "stock"), pact("stock", "ledger")
    matrix = Matrix(tmp_path / "m.json")
    record(matrix, web_stock, "v1")
    verdict = can_i_deploy("stock", "v1", [web_stock, stock_db], matrix)
    assert not verdict.deployable
    reasons = {c.pact.pair: (c.role, c.ok, c.reason) for c in verdict.checks}
    assert reasons["web->stock"][:2] == ("provider", True)
    assert reasons["stock->ledger"][:2] == ("consumer", False)
    assert "never verified by its provider" in reasons["stock->ledger"][2]
    record(matrix, stock_db, "v1")
    assert can_i_deploy("stock", "v1", [web_stock, stock_db], matrix).deployable
    # Another version has no verification, and a failed one says so.
    assert not can_i_deploy("stock", "v2", [web_stock, stock_db], matrix).deployable
    record(matrix, stock_db, "v1", failed=["a"])
    [check] = list(can_i_deploy("stock", "v1", [stock_db], matrix).checks)
    assert "failed verification: a" in check.reason


def test_a_changed_pact_needs_a_new_verification(tmp_path: Path) -> None:
    matrix = Matrix(tmp_path / "m.json")
    record(matrix, pact("web", "stock"), "v1")
    assert not can_i_deploy("web", "v1", [pact("web", "stock", status=201)], matrix).deployable


def test_failed_pending_interactions_do_not_block(tmp_path: Path) -> None:
    p = pact("web", "stock")
    matrix = Matrix(tmp_path / "m.json")
    matrix.record(
        row_for(
            p,
            consumer_version="v1",
            provider_version="v1",
            failed=[],
            pending_failed=["a"],
            interactions=1,
        )
    )
    assert can_i_deploy("web", "v1", [p], matrix).deployable


def test_a_service_no_pact_names_is_deployable(tmp_path: Path) -> None:
    verdict = can_i_deploy("relay", "v1", [pact("web", "stock")], Matrix(tmp_path / "m.json"))
    assert verdict.checks == ()
    assert verdict.deployable
