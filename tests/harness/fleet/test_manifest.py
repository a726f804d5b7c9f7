"""Manifest validation: each kind of fault is reported with file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import ManifestError
from harness.fleet.manifest import InfraKind, load_manifest

from .conftest import WriteManifest

VALID = """\
version: 1
name: shop
root: .
env: {LOG_LEVEL: WARNING}
infra:
  db: {kind: postgres}
  bus: {kind: redis}
  files: {kind: sqlite}
services:
  orders:
    module: shop.orders
    database: {infra: db, name: orders}
    calls:
      payments: {env: PAYMENTS_URL}
  payments:
    command: python -m shop.payments --fast
    port: 9001
    readiness: /ready
    database: {infra: files, name: payments}
  relay:
    module: shop.relay
    depends_on: [orders]
    broker: {infra: bus}
"""


def errors_of(write_manifest: WriteManifest, text: str) -> tuple[Path, ManifestError]:
    path = write_manifest(textwrap.dedent(text))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    return path, caught.value


def test_valid_manifest_loads_with_defaults(write_manifest: WriteManifest) -> None:
    path = write_manifest(VALID)
    manifest = load_manifest(path)
    orders, payments = manifest.services["orders"], manifest.services["payments"]
    assert manifest.path == path.resolve()
    assert manifest.root_dir() == path.parent.resolve()
    assert orders.port_env == "PORT"
    assert orders.readiness == "/readyz"
    assert orders.database is not None
    assert orders.database.env == "DATABASE_URL"
    # A command string is split as a shell would; a module runs with our interpreter.
    assert payments.argv() == ["python", "-m", "shop.payments", "--fast"]
    assert orders.argv("/py") == ["/py", "-m", "shop.orders"]
    assert manifest.infra["bus"].kind is InfraKind.REDIS
    assert manifest.fleet_env() == {"LOG_LEVEL": "WARNING"}


def test_unknown_service_in_an_edge(write_manifest: WriteManifest) -> None:
    path, error = errors_of(
        write_manifest,
        """\
        version: 1
        services:
          orders:
            module: shop.orders
            calls:
              inventry: {env: INVENTORY_URL}
          inventory:
            module: shop.inventory
        """,
    )
    assert str(error).startswith(
        f"{path}:6: services.orders.calls.inventry: unknown service 'inventry'"
    )
    assert (error.file, error.line, error.field_path) == (
        str(path),
        6,
        "services.orders.calls.inventry",
    )


def test_dependency_cycle(write_manifest: WriteManifest) -> None:
    _path, error = errors_of(
        write_manifest,
        """\
        version: 1
        services:
          a:
            module: m.a
            calls: {b: {env: B_URL}}
          b:
            module: m.b
            depends_on: [c]
          c:
            module: m.c
            calls: {a: {env: A_URL}}
        """,
    )
    assert error.line == 5
    assert error.field_path == "services.a.calls.b"
    assert error.message == "dependency cycle: a -> b -> c -> a"


def test_missing_command(write_manifest: WriteManifest) -> None:
    path, error = errors_of(
        write_manifest,
        """\
        version: 1
        services:
          orders:
            module: shop.orders
          payments:
            port: 9000
        """,
    )
    assert str(error) == (
        f"{path}:5: services.payments: missing command: give `command` (argv) or `module` "
        "(python -m)"
    )


def test_command_and_module_together(write_manifest: WriteManifest) -> None:
    _, error = errors_of(
        write_manifest,
        "version: 1\nservices:\n  a:\n    module: m\n    command: [x]\n",
    )
    assert (error.line, error.field_path) == (4, "services.a.module")


def test_duplicate_fixed_port(write_manifest: WriteManifest) -> None:
    path, error = errors_of(
        write_manifest,
        """\
        version: 1
        services:
          a: {module: m.a, port: 8000}
          b:
            module: m.b
            port: 8000
        """,
    )
    assert str(error) == f"{path}:6: services.b.port: port 8000 is already used by service 'a'"


def test_unknown_field(write_manifest: WriteManifest) -> None:
    path, error = errors_of(
        write_manifest,
        "version: 1\nservices:\n  a:\n    module: m.a\n    helth: /h\n",
    )
    assert str(error) == f"{path}:5: services.a.helth: unknown field 'helth'"


def test_unknown_infra_and_wrong_kind(write_manifest: WriteManifest) -> None:
    _, error = errors_of(
        write_manifest,
        """\
        version: 1
        infra:
          db: {kind: postgres}
        services:
          a:
            module: m.a
            database: {infra: pg, name: a}
            broker: {infra: db}
        """,
    )
    assert [(i.line, i.field, i.message) for i in error.issues] == [
        (7, "services.a.database.infra", "unknown infra 'pg' (infra: db)"),
        (8, "services.a.broker.infra", "infra 'db' is a postgres, expected redis"),
    ]


def test_unknown_infra_kind(write_manifest: WriteManifest) -> None:
    _, error = errors_of(
        write_manifest,
        "version: 1\ninfra:\n  db: {kind: mysql}\nservices:\n  a: {module: m}\n",
    )
    assert (error.line, error.field_path) == (3, "infra.db.kind")


def test_wrong_version(write_manifest: WriteManifest) -> None:
    _, error = errors_of(write_manifest, "version: 2\nservices:\n  a: {module: m}\n")
    assert (error.line, error.field_path) == (1, "version")


def test_one_variable_for_two_dependencies(write_manifest: WriteManifest) -> None:
    _, error = errors_of(
        write_manifest,
        """\
        version: 1
        services:
          a:
            module: m.a
            calls:
              b: {env: URL}
              c: {env: URL}
          b: {module: m.b}
          c: {module: m.c}
        """,
    )
    assert error.field_path == "services.a.calls.c.env"
    assert "already carries the call to 'b'" in error.message


def test_boolean_env_values_must_be_quoted(write_manifest: WriteManifest) -> None:
    _, error = errors_of(
        write_manifest,
        "version: 1\nservices:\n  a:\n    module: m\n    env:\n      DEBUG: yes\n",
    )
    assert error.field_path == "services.a.env"
    assert "quoted strings" in error.message


def test_names_must_suit_proxy_names(write_manifest: WriteManifest) -> None:
    _, error = errors_of(write_manifest, "version: 1\nservices:\n  a__b: {module: m}\n")
    assert "must not contain '__'" in error.message


def test_service_and_infra_names_must_differ(write_manifest: WriteManifest) -> None:
    _, error = errors_of(
        write_manifest,
        "version: 1\ninfra:\n  a: {kind: redis}\nservices:\n  a: {module: m}\n",
    )
    assert error.line == 3
    assert "both a service and an infra name" in error.message


def test_sample_fleet_manifest_is_valid() -> None:
    path = Path(__file__).resolve().parents[3] / "sample_services" / "fleet.yaml"
    manifest = load_manifest(path)
    assert {"gateway", "orders", "inventory", "payments", "shipping", "relay"} <= set(
        manifest.services
    )


def test_requires_names_services_needed_but_not_awaited(write_manifest: WriteManifest) -> None:
    manifest = load_manifest(
        write_manifest(
            textwrap.dedent(
                """\
                version: 1
                services:
                  orders: {module: shop.orders, waits_for_infra: true}
                  relay: {module: shop.relay, requires: [orders]}
                """
            )
        )
    )
    assert manifest.services["relay"].requires == ["orders"]
    assert manifest.services["relay"].depends_on == []
    assert manifest.services["orders"].waits_for_infra
    assert not manifest.services["relay"].waits_for_infra


def test_unknown_service_in_requires(write_manifest: WriteManifest) -> None:
    path, error = errors_of(
        write_manifest,
        """\
        version: 1
        services:
          orders: {module: shop.orders}
          relay:
            module: shop.relay
            requires: [orders, ordrs]
        """,
    )
    assert str(error).startswith(f"{path}:6: services.relay.requires[1]: unknown service 'ordrs'")


def test_preload_lists_module_names(write_manifest: WriteManifest) -> None:
    path = write_manifest(
        "version: 1\npreload: [fastapi, sqlalchemy.orm]\nservices:\n  a: {module: m}\n"
    )
    assert load_manifest(path).preload == ["fastapi", "sqlalchemy.orm"]
    assert load_manifest(write_manifest(VALID)).preload == []

    _, error = errors_of(
        write_manifest,
        "version: 1\npreload:\n  - fastapi\n  - sqlalchemy orm\nservices:\n  a: {module: m}\n",
    )
    assert error.line == 4
    assert error.field_path == "preload[1]"
