"""The initdb template cache: the first server runs initdb, the next ones start from a copy."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from harness.infra import postgres_template
from harness.infra.local import LocalProvider
from harness.infra.local_postgres import find_bindir

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

INITDB_MARK = "--- harness: initdb"


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "templates"
    monkeypatch.setenv(postgres_template.TEMPLATES_ENV, str(directory))
    return directory


def test_the_second_server_is_a_fresh_copy_of_the_first_ones_initdb(
    templates: Path, tmp_path: Path
) -> None:
    first, second = LocalProvider(tmp_path / "a"), LocalProvider(tmp_path / "b")
    try:
        a = first.postgres()
        assert INITDB_MARK in a.log_path.read_text()
        assert len(list(templates.iterdir())) == 1
        a.create_database("only_in_a")

        b = second.prepare_postgres()
        # Known before it starts: the password comes with the template.
        assert b.password == a.password
        second.postgres()
        assert INITDB_MARK not in b.log_path.read_text()
        assert b.data_dir != a.data_dir
        with psycopg.connect(b.url("postgres"), connect_timeout=5) as conn:
            names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        assert "only_in_a" not in names
        b.create_database("orders")
        with psycopg.connect(b.url("orders"), connect_timeout=5) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("orders",)
    finally:
        first.close()
        second.close()


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(postgres_template.TEMPLATES_ENV, "off")
    assert postgres_template.cache_root() is None
    provider = LocalProvider(tmp_path / "a")
    try:
        server = provider.postgres()
        assert INITDB_MARK in server.log_path.read_text()
    finally:
        provider.close()


def test_the_key_changes_with_options_and_owner() -> None:
    bindir = find_bindir()
    key = postgres_template.template_key(bindir, ["-E", "UTF8"], 0)
    assert key == postgres_template.template_key(bindir, ["-E", "UTF8"], 0)
    assert key != postgres_template.template_key(bindir, ["-E", "LATIN1"], 0)
    assert key != postgres_template.template_key(bindir, ["-E", "UTF8"], 1000)
