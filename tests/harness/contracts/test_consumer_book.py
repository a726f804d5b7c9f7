"""PactBook: passing tests' pacts are written once per pair, deterministically."""

from __future__ import annotations

import json
from pathlib import Path

from pact import Pact, match

from harness.contracts.consumer import PactBook


def define(pact: Pact, description: str, status: int = 200) -> None:
    (
        pact.upon_receiving(description)
        .given("sku {sku} has {available} available", sku="S", available=1)
        .with_request("GET", "/stock/S")
        .will_respond_with(status)
        .with_body({"sku": match.str("S")}, content_type="application/json")
    )


def descriptions(path: Path) -> list[str]:
    return [i["description"] for i in json.loads(path.read_text())["interactions"]]


def test_passing_tests_are_written_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "web-stock.json"
    for run in range(2):
        book = PactBook(tmp_path)
        define(book.pact("web", "stock", owner="t1"), "b")
        define(book.pact("web", "stock", owner="t2"), "a")
        book.keep("t1")
        book.keep("t2")
        [written] = book.write(narrowed=False)
        assert written.changed is (run == 0)
        assert written.interactions == 2
    assert descriptions(path) == ["a", "b"]
    assert "pactRust" not in json.loads(path.read_text())["metadata"]


def test_a_failed_test_leaves_its_pairs_file_alone(tmp_path: Path) -> None:
    book = PactBook(tmp_path)
    define(book.pact("web", "stock", owner="t1"), "a")
    define(book.pact("web", "stock", owner="t2"), "b")
    book.keep("t1")
    book.discard("t2")
    assert book.write(narrowed=False) == []
    assert not (tmp_path / "web-stock.json").exists()


def test_a_narrowed_run_merges_and_a_full_run_replaces(tmp_path: Path) -> None:
    book = PactBook(tmp_path)
    define(book.pact("web", "stock", owner="t1"), "a")
    define(book.pact("web", "stock", owner="t2"), "b")
    book.keep("t1")
    book.keep("t2")
    book.write(narrowed=False)
    path = tmp_path / "web-stock.json"
    # `-k b`: only b ran, and changed; a must survive.
    define(book.pact("web", "stock", owner="t2"), "b", status=201)
    book.keep("t2")
    [written] = book.write(narrowed=True)
    assert (written.mode, descriptions(path)) == ("merged", ["a", "b"])
    # A full run where a's test is gone: a goes too.
    define(book.pact("web", "stock", owner="t2"), "b")
    book.keep("t2")
    book.write(narrowed=False)
    assert descriptions(path) == ["b"]
