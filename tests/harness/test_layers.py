"""The import rules of ARCHITECTURE.md ("Layers"), checked on the source with ast."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"
# The modules allowed to import pytest: the plugin (and a sub-package for it, if any).
PYTEST_ADAPTERS = ("pytest_plugin.py", "pytest/")
# What the fleet layer and the fault actuators may not see: capabilities and adapters.
CAPABILITIES = ("contracts", "fuzz", "load", "chaos", "matrix")


def modules() -> list[Path]:
    return sorted(HARNESS.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(HARNESS).as_posix()


def imports(path: Path, root: Path = HARNESS) -> Iterator[str]:
    """Every module name `path` imports, absolute (relative imports resolved)."""
    package = [root.name, *path.relative_to(root).parent.parts]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


def importing(prefixes: tuple[str, ...], paths: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        hits = [
            name
            for name in imports(path)
            if any(name == p or name.startswith(p + ".") for p in prefixes)
        ]
        if hits:
            found[relative(path)] = hits
    return found


def under(*packages: str) -> list[Path]:
    return [p for p in modules() if relative(p).split("/")[0] in packages]


def test_imports_are_found_in_every_form(tmp_path: Path) -> None:
    module = tmp_path / "harness" / "fleet" / "x.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import pytest\nfrom sample_services.orders import app\nfrom ..infra import ports\n"
        "from . import graph\ndef late():\n    import harness.chaos.run\n"
    )
    assert list(imports(module, tmp_path / "harness")) == [
        "pytest",
        "sample_services.orders",
        "harness.infra",
        "harness.fleet",
        "harness.chaos.run",
    ]


def test_the_harness_has_modules_to_check() -> None:
    names = {relative(p) for p in modules()}
    assert {"fleet/lifecycle.py", "cli/app.py", "pytest_plugin.py", "infra/base.py"} <= names


CLI_ADAPTER = ("cli/",)
ADAPTERS = ("harness.cli", "harness.pytest", "harness.pytest_plugin")


# The diagram of ARCHITECTURE.md, top to bottom: every import points to a lower row.
ROWS = [
    {"pytest", "cli"},
    {"contracts", "fuzz", "load", "chaos", "matrix"},
    {"project", "doctor"},
    {"fleet"},
    {"faults", "report", "invariants"},
    {"infra"},
    {"config", "errors", "extras", "yamlsource", "schemafile", "closing", "httpbody", "pacing"},
]


# Imports within a row that the diagram draws as an arrow: a game-day runs a load underneath;
# the fault matrix uses the game-day's probes, rollback and scenario loader (and the load's
# durations and request templates, which those are written in).
SIDEWAYS = {("chaos", "load"), ("matrix", "chaos"), ("matrix", "load")}


def unit(top: str) -> str:
    """The diagram's box a module belongs to (the plugin module and its package are one)."""
    top = top.removesuffix(".py")
    return "pytest" if top == "pytest_plugin" else top


def row_of(box: str) -> int:
    return next(i for i, row in enumerate(ROWS) if box in row)


def test_every_import_points_down_the_diagram() -> None:
    leaves = len(ROWS) - 1
    upward = {}
    for path in modules():
        mine = unit(relative(path).split("/", maxsplit=1)[0])
        if mine == "__init__":
            continue
        for name in imports(path):
            parts = name.split(".")
            if parts[0] != "harness" or len(parts) < 2 or unit(parts[1]) == mine:
                continue
            theirs = row_of(unit(parts[1]))
            if (mine, unit(parts[1])) in SIDEWAYS:
                continue
            if theirs <= row_of(mine) and not (theirs == row_of(mine) == leaves):
                upward.setdefault(relative(path), []).append(name)
    assert upward == {}


def test_only_the_cli_imports_rich_or_typer() -> None:
    offenders = importing(("rich", "typer", "click"), modules())
    assert any(name.startswith(CLI_ADAPTER) for name in offenders)
    assert {k: v for k, v in offenders.items() if not k.startswith(CLI_ADAPTER)} == {}


def test_no_core_module_imports_an_adapter() -> None:
    core = [
        p for p in modules() if not relative(p).startswith(("cli/", "pytest/", "pytest_plugin.py"))
    ]
    assert importing(ADAPTERS, core) == {}


def test_the_adapters_do_not_import_each_other() -> None:
    assert importing(("harness.pytest", "harness.pytest_plugin"), under("cli")) == {}
    pytest_side = [HARNESS / "pytest_plugin.py", *under("pytest")]
    assert importing(("harness.cli",), pytest_side) == {}


def test_every_package_declares_its_public_api() -> None:
    missing = [
        relative(init)
        for init in HARNESS.rglob("__init__.py")
        if not any(
            isinstance(node, ast.Assign | ast.AnnAssign)
            and any(getattr(t, "id", None) == "__all__" for t in _targets(node))
            for node in ast.parse(init.read_text()).body
        )
    ]
    assert missing == []


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


def test_one_errors_module_per_capability_and_no_copy_of_json_type() -> None:
    for capability in CAPABILITIES:
        assert (HARNESS / capability / "errors.py").is_file()
    # Exceptions are defined in errors.py modules (or next to the one thing that raises them).
    tree = ast.parse((HARNESS / "contracts" / "evolution.py").read_text())
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert "_json_type" not in names


def test_nothing_in_harness_imports_the_sample_fleet() -> None:
    assert importing(("sample_services",), modules()) == {}


def test_only_the_plugin_imports_pytest() -> None:
    offenders = importing(("pytest", "_pytest"), modules())
    allowed = {name for name in offenders if name.startswith(PYTEST_ADAPTERS)}
    assert "pytest_plugin.py" in allowed
    assert {k: v for k, v in offenders.items() if k not in allowed} == {}


def test_only_the_shipped_locustfile_imports_locust() -> None:
    # Locust's gevent monkey-patching breaks the process it is imported into (pytest's
    # included): it runs in subprocesses with harness/load/locustfile.py only.
    offenders = importing(("locust", "gevent"), modules())
    assert set(offenders) == {"load/locustfile.py"}
    assert not importing(("harness.load.locustfile",), modules())


def test_infra_imports_nothing_above_it() -> None:
    above = ("harness.fleet", "harness.faults", *ADAPTERS)
    above += tuple(f"harness.{c}" for c in CAPABILITIES)
    assert importing(above, under("infra")) == {}


@pytest.mark.parametrize("layer", ["fleet", "faults"])
def test_fleet_and_faults_do_not_import_capabilities_or_adapters(layer: str) -> None:
    above = (*tuple(f"harness.{c}" for c in CAPABILITIES), *ADAPTERS)
    assert importing(above, under(layer)) == {}


def test_faults_do_not_import_the_fleet() -> None:
    # Faults act on a proxy or a process; the fleet hands them out, not the other way round.
    assert importing(("harness.fleet",), under("faults")) == {}


def test_leaf_modules_import_no_layer() -> None:
    leaves = [
        HARNESS / name
        for name in (
            "config.py",
            "errors.py",
            "extras.py",
            "yamlsource.py",
            "schemafile.py",
            "closing.py",
            "httpbody.py",
        )
    ]
    layers = ("infra", "fleet", "faults", "cli", "pytest", "report", "project", *CAPABILITIES)
    assert importing(tuple(f"harness.{layer}" for layer in layers), leaves) == {}


def test_capabilities_do_not_import_the_adapters() -> None:
    assert importing(ADAPTERS, under(*CAPABILITIES)) == {}


def test_only_fuzzing_imports_hypothesis_and_schemathesis() -> None:
    # Property-based testing is the fuzz capability's business (and its pytest adapter's).
    offenders = importing(("hypothesis", "schemathesis"), modules())
    assert {k for k in offenders if not k.startswith(("fuzz/", "pytest/fuzz.py"))} == set()


def test_the_invariant_registry_stands_alone() -> None:
    # `{invariant: money_conserved}` in a chaos scenario uses it outside any test run.
    above = ("hypothesis", "schemathesis", "pytest", "_pytest", "harness.fleet")
    above += tuple(f"harness.{c}" for c in CAPABILITIES)
    assert importing(above, [HARNESS / "invariants.py"]) == {}


def test_the_chaos_core_imports_no_presentation_library() -> None:
    # Game-days report through harness/report; the CLI alone prints with rich and typer.
    assert importing(("typer", "rich", "pytest", "_pytest", "click"), under("chaos")) == {}


def test_the_matrix_core_imports_no_presentation_library_nor_locust() -> None:
    # Like a game-day: reports through harness/report, rich and typer in the CLI alone,
    # pytest in its adapter (harness/pytest/matrix.py) alone; no load runs in-process.
    banned = ("typer", "rich", "pytest", "_pytest", "click", "locust", "gevent")
    assert importing(banned, under("matrix")) == {}
    # The matrix uses chaos (and load's formats), no other capability.
    others = ("harness.contracts", "harness.fuzz")
    assert importing(others, under("matrix")) == {}


def test_the_chaos_core_does_not_import_locust() -> None:
    # The load runs in its own processes; a game-day only reads its files.
    assert importing(("locust", "gevent"), under("chaos")) == {}


def _long_lived_process_starts(path: Path) -> set[str]:
    """`subprocess.Popen`, `os.fork`, `os.spawn*`, `os.posix_spawn*` used in `path`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner, name = node.value.id, node.attr
        elif isinstance(node, ast.ImportFrom) and node.module in ("subprocess", "os"):
            owner, name = node.module, ",".join(alias.name for alias in node.names)
        else:
            continue
        if (owner == "subprocess" and "Popen" in name) or (
            owner == "os" and name.startswith(("fork", "spawn", "posix_spawn"))
        ):
            found.add(f"{owner}.{name}")
    return found


def test_every_child_that_may_outlive_a_call_is_a_managed_process() -> None:
    # ManagedProcess gives each child its parent-death signal and records it in the run
    # registry: a child started any other way could outlive a SIGKILLed harness.
    offenders = {relative(p): hits for p in modules() if (hits := _long_lived_process_starts(p))}
    # The zygote is a program of its own (run by a ManagedProcess, never imported): the
    # services it forks are ManagedProcesses of the harness, armed and recorded the same way.
    assert offenders == {
        "infra/process.py": {"subprocess.Popen"},
        "infra/zygote_main.py": {"os.fork"},
    }
