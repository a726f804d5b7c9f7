"""What every PostgreSQL provider shares: URLs, a readiness probe, database creation.

psycopg is imported lazily: it is only needed once a PostgreSQL is actually asked for.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from harness.errors import InfraError

if TYPE_CHECKING:
    from harness.infra.base import Endpoint


def postgres_url(
    userinfo: str, endpoint: Endpoint, database: str, query: str = "", scheme: str = "postgresql"
) -> str:
    """`userinfo` is the already URL-encoded "user:password" part ('' for none)."""
    credentials = f"{userinfo}@" if userinfo else ""
    suffix = f"?{query}" if query else ""
    return (
        f"{scheme}://{credentials}{endpoint.url_host}:{endpoint.port}/"
        f"{quote(database, safe='')}{suffix}"
    )


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise InfraError(
            "PostgreSQL support needs psycopg 3: pip install 'psycopg[binary]'"
        ) from exc
    return psycopg


def can_connect(url: str, timeout: float = 2.0) -> bool:
    """True when a session opens and answers SELECT 1; raises the driver's error otherwise."""
    psycopg = _psycopg()
    with psycopg.connect(url, connect_timeout=max(1, round(timeout))) as conn:
        return bool(conn.execute("SELECT 1").fetchone() == (1,))


def create_database(admin_url: str, name: str) -> None:
    """CREATE DATABASE `name` unless it exists (safe against a concurrent creator)."""
    psycopg = _psycopg()
    from psycopg import errors, sql

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return
        # Someone else may create it between our check and our CREATE.
        with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
