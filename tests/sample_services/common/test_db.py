"""The database layer: one code path for SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import String, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from harness.infra.base import PostgresServer
from harness.infra.ports import free_port
from sample_services.common.db import Database, is_sqlite, make_engine, normalise_url
from tests.sample_services.conftest import database_with_schema


class Base(DeclarativeBase):
    pass


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    yield from database_with_schema(database_url, Base)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_urls_are_normalised_to_the_shipped_driver(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def test_dialect_matches_the_url(db: Database, database_url: str) -> None:
    assert db.dialect == ("sqlite" if is_sqlite(database_url) else "postgresql")
    db.ping()


def test_session_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.session() as session:
        session.add(Counter(name="a", value=1))

    def add_then_fail() -> None:
        with db.session() as session:
            session.add(Counter(name="b", value=1))
            session.flush()
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        add_then_fail()
    with db.session() as session:
        assert session.scalars(select(Counter.name)).all() == ["a"]


def test_truncate_empties_every_table(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 't.db'}", Base)
    db.create_schema()
    with db.session() as session:
        session.add_all([Counter(name="a", value=1), Counter(name="b", value=2)])
    db.truncate()
    with db.session() as session:
        assert session.scalars(select(Counter)).all() == []
    db.dispose()


def test_concurrent_read_modify_write_loses_no_update(db: Database) -> None:
    with db.session() as session:
        session.add(Counter(name="c", value=0))

    def bump() -> None:
        for _ in range(10):
            with db.session() as session:
                # FOR UPDATE on PostgreSQL; SQLite ignores it, and BEGIN IMMEDIATE already
                # serialises writers there (without it, two writers deadlock on upgrade).
                row = session.scalars(
                    select(Counter).where(Counter.name == "c").with_for_update()
                ).one()
                row.value += 1

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with db.session() as session:
        assert session.get(Counter, "c").value == 40  # type: ignore[union-attr]


def test_sqlite_file_gets_its_directory_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "svc.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert path.parent.is_dir()
    finally:
        engine.dispose()


def test_unreachable_postgres_fails_ping_quickly() -> None:
    from sqlalchemy.exc import OperationalError

    db = Database("postgresql://nobody@127.0.0.1:9/none", Base)
    try:
        with pytest.raises(OperationalError):
            db.ping()
    finally:
        db.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_a_starting_service_waits_for_a_database_that_is_not_there_yet(
    postgres_server: PostgresServer,
) -> None:
    # The fleet starts services while their databases are still being made: the schema
    # is created once the database exists, not given up on at the first refusal.
    name = f"late_{uuid.uuid4().hex[:8]}"
    db = Database(postgres_server.url(name), Base)
    failures = threading.Semaphore(0)
    event.listen(db.engine, "handle_error", lambda _context: failures.release())
    with ThreadPoolExecutor(max_workers=1) as pool:
        creating = pool.submit(db.create_schema, wait=30.0)
        assert failures.acquire(timeout=30)  # refused at least once: no such database
        assert not creating.done()
        postgres_server.create_database(name)
        creating.result(timeout=30)
    with db.session() as session:
        session.add(Counter(name="a", value=1))
    db.dispose()


def test_without_a_wait_an_unreachable_database_fails_the_start_at_once(tmp_path: Path) -> None:
    closed = f"postgresql://u:p@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(OperationalError):
        Database(closed, Base).create_schema()
    began = time.monotonic()
    with pytest.raises(OperationalError):
        Database(closed, Base).create_schema(wait=0.3)
    # It tried for the time it was given, then gave up with the database's error.
    assert time.monotonic() - began >= 0.3


def test_a_reader_of_another_services_tables_waits_until_they_are_made(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    reader, owner = Database(url, Base), Database(url, Base)
    assert reader.wait_for_schema(0.05) is False
    tried = threading.Semaphore(0)
    event.listen(reader.engine, "engine_connect", lambda *_: tried.release())
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(reader.wait_for_schema, 30.0)
        assert tried.acquire(timeout=30)
        owner.create_schema()
        assert waiting.result(timeout=30) is True
    reader.dispose()
    owner.dispose()
