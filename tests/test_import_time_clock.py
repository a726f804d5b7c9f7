"""No test module computes a wall-clock value when it is imported.

A token minted at collection time expires while the suites collected before it run (the
gateway's admin token did, 300 s after collection, once `--contracts --fuzz` grew long
enough). Values that depend on the clock are made inside the test or a fixture.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_CALLS = {"time", "monotonic", "now", "utcnow", "today", "bearer", "make_token"}
SCANNED = ("tests", "contracts")


def _eager_calls(node: ast.AST) -> Iterator[ast.Call]:
    """Calls evaluated with the statement: a lambda's body waits for whoever calls it."""
    if isinstance(node, ast.Lambda):
        return
    if isinstance(node, ast.Call):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _eager_calls(child)


def module_level_clock_calls(source: str, name: str) -> list[str]:
    found = []
    for statement in ast.parse(source, filename=name).body:
        if not isinstance(statement, ast.Assign | ast.AnnAssign):
            continue
        for call in _eager_calls(statement):
            func = call.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in CLOCK_CALLS:
                found.append(f"{name}:{statement.lineno}: {called}()")
    return found


def test_scan_sees_a_module_level_token_and_spares_a_lambda() -> None:
    source = (
        "import time\n"
        "ADMIN = bearer(scopes='admin')\n"
        "LAZY = {'x': lambda: bearer()}\n"
        "STAMP: float = time.time()\n"
    )
    assert module_level_clock_calls(source, "m.py") == ["m.py:2: bearer()", "m.py:4: time()"]


def test_no_test_module_reads_the_clock_at_import() -> None:
    modules = sorted(p for d in SCANNED for p in (ROOT / d).rglob("*.py"))
    assert len(modules) > 50
    found = [
        hit
        for path in modules
        for hit in module_level_clock_calls(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert found == []
