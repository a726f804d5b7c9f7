"""The verification matrix and can-i-deploy, without a broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.contracts.errors import ContractError
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


def test_recording_the_same_verification_again_upserts_its_row() -> None:
    matrix = Matrix()
    p = pact("web", "stock")
    record(matrix, p, "v1")
    stored = matrix.document()
    again = Matrix.from_document(stored, "test")
    record(again, p, "v1")
    assert again.document() == stored  # same result: same row, same time, same bytes
    assert len(again.rows) == 1
    record(again, p, "v1", failed=["a"])
    saved = json.loads(again.document())["verifications"]
    assert [(r["success"], r["failed"]) for r in saved] == [(False, ["a"])]


def test_the_stored_document_does_not_depend_on_the_order_rows_came_in() -> None:
    source = Matrix()
    record(source, pact("web", "stock"), "v1")
    record(source, pact("stock", "ledger"), "v1")
    one, two = Matrix(), Matrix()
    for row in source.rows:
        one.record(row)
    for row in reversed(source.rows):
        two.record(row)
    assert one.rows != two.rows
    assert one.document() == two.document()


def test_a_broken_document_names_where_it_came_from() -> None:
    with pytest.raises(ContractError, match="refs/notes/x: not a verification matrix"):
        Matrix.from_document("[1]", "refs/notes/x")


def test_can_i_deploy_needs_a_successful_row_for_every_pact() -> None:
    web_stock, stock_db = pact("web", "stock"), pact("stock", "ledger")
    matrix = Matrix()
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


def test_a_changed_pact_needs_a_new_verification() -> None:
    matrix = Matrix()
    record(matrix, pact("web", "stock"), "v1")
    assert not can_i_deploy("web", "v1", [pact("web", "stock", status=201)], matrix).deployable


def test_failed_pending_interactions_do_not_block() -> None:
    p = pact("web", "stock")
    matrix = Matrix()
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


def test_a_service_no_pact_names_is_deployable() -> None:
    verdict = can_i_deploy("relay", "v1", [pact("web", "stock")], Matrix())
    assert verdict.checks == ()
    assert verdict.deployable
