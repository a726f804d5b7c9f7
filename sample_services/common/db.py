"""One database per service: SQLite by default, PostgreSQL for postgresql:// URLs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from tenacity import (
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_exponential,
)

T = TypeVar("T")

# What a database that is not there (yet) raises: refused, closed, starting up, no such db.
_UNREACHABLE = (OperationalError, InterfaceError)


def normalise_url(url: str) -> str:
    """Plain postgresql:// URLs select psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if is_sqlite(url):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers (health checks, GETs) proceed while a saga step writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front: SQLite's deferred upgrade deadlocks two writers.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # Short connect timeout: /readyz must answer 503 quickly when the database is cut off.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"connect_timeout": 2},
    )


class Database:
    """An engine, a session factory and the service's tables."""

    def __init__(self, url: str, base: type[DeclarativeBase]) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(url)
        self.base = base
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_schema(self, wait: float = 0.0) -> None:
        """Create the tables; for up to ``wait`` s, a database not reachable yet is retried.

        A service may be started before its database is up (its server still starting, the
        database not created yet): an orchestrator starts things in any order, and a
        service that exits instead would make the fleet's boot as slow as its slowest
        server. Until the tables exist the service does not serve, so it is not ready.
        """
        if wait <= 0:
            self.base.metadata.create_all(self.engine)
            return
        retrying = Retrying(
            retry=retry_if_exception_type(_UNREACHABLE),
            # Short waits: a server that is starting is there within a second or so.
            wait=wait_exponential(multiplier=0.01, max=0.1),
            stop=stop_after_delay(wait),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.base.metadata.create_all(self.engine)

    def wait_for_schema(self, wait: float) -> bool:
        """Wait up to ``wait`` s until every table of the schema exists; False if not.

        For a service on tables another service owns and creates (the relay on orders'
        outbox): started together with the owner, it begins its work once they are
        there rather than failing and backing off in the meantime.
        """
        wanted = set(self.base.metadata.tables)

        def present() -> bool:
            return wanted <= set(inspect(self.engine).get_table_names())

        retrying = Retrying(
            retry=retry_if_exception_type(_UNREACHABLE) | retry_if_result(lambda ok: not ok),
            wait=wait_exponential(multiplier=0.01, max=0.1),
            stop=stop_after_delay(wait),
            retry_error_callback=lambda _state: False,
        )
        return bool(retrying(present))

    def truncate(self) -> None:
        """Empty every table (test hook only)."""
        with self.engine.begin() as conn:
            for table in reversed(self.base.metadata.sorted_tables):
                conn.execute(table.delete())

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def retry_on_conflict(db: Database, work: Callable[[Session], T], *, attempts: int = 3) -> T:
    """Run `work` in its own transaction; run it again when it loses a uniqueness race.

    Two requests that both find no row and both insert one: the loser's transaction rolls
    back (undoing its other writes with it) and a fresh attempt sees the winner's row.
    A constraint violation that persists is a bug and is raised after the last attempt.
    """
    for attempt in range(1, attempts + 1):
        try:
            with db.session() as session:
                return work(session)
        except IntegrityError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover
