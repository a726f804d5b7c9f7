"""Pact files: normalised so re-runs do not churn them, hashed, merged, read strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.contracts.errors import PactFileError
from harness.contracts.pactfile import (
    InteractionKind,
    content_hash,
    dumps,
    load_pacts,
    merge,
    normalise,
    read_pact,
    write_if_changed,
)
from tests.harness.contracts.conftest import PACTS, http_interaction, pact_document, write_pact


def test_normalising_drops_the_writers_versions_and_sorts_interactions() -> None:
    doc = pact_document("web", "stock", http_interaction("b"), http_interaction("a"))
    normal = normalise(doc)
    assert "pactRust" not in normal["metadata"]
    assert normal["metadata"]["pactSpecification"] == {"version": "4.0"}
    assert [i["description"] for i in normal["interactions"]] == ["a", "b"]
    # The input is left alone.
    assert "pactRust" in doc["metadata"]


def test_the_hash_ignores_key_order_interaction_order_and_writer_versions() -> None:
    one = pact_document("web", "stock", http_interaction("a"), http_interaction("b"))
    two = json.loads(json.dumps(pact_document("web", "stock", http_interaction("b"))))
    two["interactions"].append(http_interaction("a"))
    two["metadata"]["pactRust"]["ffi"] = "9.9.9"
    assert content_hash(one) == content_hash(two)
    changed = pact_document(
        "web", "stock", http_interaction("a", status=404), http_interaction("b")
    )
    assert content_hash(changed) != content_hash(one)


def test_merge_replaces_or_keeps_the_rest() -> None:
    base = pact_document("web", "stock", http_interaction("old"), http_interaction("same"))
    new = pact_document("web", "stock", http_interaction("same", status=201))
    replaced = merge(base, [new], replace=True)
    assert [(i["description"], i["response"]["status"]) for i in replaced["interactions"]] == [
        ("same", 201)
    ]
    merged = merge(base, [new], replace=False)
    assert [(i["description"], i["response"]["status"]) for i in merged["interactions"]] == [
        ("old", 200),
        ("same", 201),
    ]


def test_write_if_changed_leaves_an_identical_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "web-stock.json"
    doc = pact_document("web", "stock", http_interaction("a"))
    assert write_if_changed(path, doc) is True
    before = path.stat().st_mtime_ns
    assert write_if_changed(path, json.loads(dumps(doc))) is False
    assert path.stat().st_mtime_ns == before
    assert path.read_text().endswith("}\n")


def test_reading_checks_descriptions_and_kinds(tmp_path: Path) -> None:
    twice = pact_document("web", "stock", http_interaction("a"), http_interaction("a"))
    with pytest.raises(PactFileError, match="'a' is used twice"):
        read_pact(write_pact(tmp_path / "one", twice))
    odd = pact_document("web", "stock", {**http_interaction("a"), "type": "Synchronous/Messages"})
    with pytest.raises(PactFileError, match="not supported"):
        read_pact(write_pact(tmp_path / "two", odd))
    (tmp_path / "three.json").write_text("[1]")
    with pytest.raises(PactFileError, match=r"three\.json: not a pact"):
        read_pact(tmp_path / "three.json")


def test_the_committed_pacts_are_normalised_and_cover_both_kinds() -> None:
    pacts = load_pacts(PACTS)
    assert {p.pair for p in pacts} >= {"gateway->orders", "shipping->orders", "orders->payments"}
    for pact in pacts:
        # Re-normalising a committed file changes nothing: consumer runs cannot churn it.
        assert pact.path.read_text() == dumps(pact.document), pact.path
    kinds = {i.kind for p in pacts for i in p.interactions}
    assert kinds == {InteractionKind.HTTP, InteractionKind.MESSAGE}
