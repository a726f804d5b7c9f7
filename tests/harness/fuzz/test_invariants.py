"""The invariant registry: named checks, usable by state machines and chaos probes alike."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

from harness.invariants import (
    InvariantContext,
    InvariantError,
    InvariantRegistry,
    InvariantViolation,
    load_invariants,
    registry,
    violated,
)

REPO = Path(__file__).resolve().parents[3]


def context(answers: dict[str, object], hits: list[str] | None = None) -> InvariantContext:
    def handle(request: httpx.Request) -> httpx.Response:
        if hits is not None:
            hits.append(str(request.url))
        body = answers.get(request.url.path)
        return httpx.Response(404) if body is None else httpx.Response(200, json=body)

    http = httpx.Client(transport=httpx.MockTransport(handle))
    return InvariantContext({"stock": "http://stock"}, http=http, known={"skus": ["b", "a"]})


def test_a_registered_invariant_passes_fails_or_cannot_be_checked() -> None:
    rules = InvariantRegistry()

    @rules.invariant("non_negative")
    def non_negative(ctx: InvariantContext) -> None:
        for sku in ctx.known("skus"):
            if ctx.get_json("stock", f"/stock/{sku}")["available"] < 0:
                violated(f"{sku} is negative")

    ok = rules.check(
        "non_negative", context({"/stock/a": {"available": 1}, "/stock/b": {"available": 0}})
    )
    assert ok.ok
    bad = rules.check(
        "non_negative", context({"/stock/a": {"available": -1}, "/stock/b": {"available": 0}})
    )
    assert (bad.ok, bad.error, bad.message) == (False, False, "a is negative")
    assert str(bad) == "non_negative: violated: a is negative"
    broken = rules.check("non_negative", context({}))  # 404: the check cannot be made
    assert (broken.ok, broken.error) == (False, True)
    assert "answered 404" in broken.message


def test_assert_all_names_every_violation() -> None:
    rules = InvariantRegistry()
    rules.add("one", lambda ctx: violated("first"))
    rules.add("two", lambda ctx: None)
    rules.add("three", lambda ctx: violated("third"))
    with pytest.raises(InvariantViolation) as failed:
        rules.assert_all(context({}))
    assert str(failed.value) == "one: violated: first\nthree: violated: third"
    rules.assert_all(context({}), names=["two"])


def test_names_are_unique_unless_it_is_the_same_function() -> None:
    rules = InvariantRegistry()

    def check(ctx: InvariantContext) -> None:
        return None

    rules.add("x", check)
    rules.add("x", check)  # a module imported twice registers again: no clash
    with pytest.raises(InvariantError, match="registered already"):
        rules.add("x", lambda ctx: None)
    with pytest.raises(InvariantError, match="unknown invariant 'y'"):
        rules.check_all(context({}), names=["y"])
    with pytest.raises(InvariantError, match="use letters"):
        rules.invariant("no spaces")


def test_one_pass_reads_each_resource_once() -> None:
    rules = InvariantRegistry()
    rules.add("a", lambda ctx: ctx.get_json("stock", "/stock/a") and None)
    rules.add("b", lambda ctx: ctx.get_json("stock", "/stock/a") and None)
    hits: list[str] = []
    ctx = context({"/stock/a": {"available": 1}}, hits)
    rules.check_all(ctx)
    assert hits == ["http://stock/stock/a"]
    rules.check_all(ctx)  # a new pass reads again: the fleet may have changed
    assert len(hits) == 2


def test_the_sample_fleets_invariants_load_by_module_and_by_file() -> None:
    load_invariants("tests.fuzz.invariants", root=REPO)
    assert {"stock_conserved", "money_conserved", "sagas_consistent"} <= set(registry.names)
    load_invariants("tests/fuzz/invariants.py", root=REPO)  # the same functions: no clash
    with pytest.raises(InvariantError, match="does not exist"):
        load_invariants("nowhere.py", root=REPO)
    with pytest.raises(InvariantError, match="cannot import"):
        load_invariants("tests.fuzz.no_such_module", root=REPO)


def test_the_registry_needs_neither_hypothesis_nor_pytest() -> None:
    # Chaos probes use it outside any test run: it must not drag either in.
    tree = ast.parse((REPO / "harness" / "invariants.py").read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"hypothesis", "pytest", "_pytest", "schemathesis"}
