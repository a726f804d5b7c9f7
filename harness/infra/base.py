"""The provider seam: what the fleet asks for (a PostgreSQL, a Redis, a Toxiproxy) and gets.

Providers differ in where the servers come from (local processes, containers, URLs from
configuration); the fleet only ever sees these protocols, endpoints and URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def address(self) -> str:
        """ "host:port", the form Toxiproxy takes for listen and upstream."""
        return f"{self.url_host}:{self.port}"

    @property
    def url_host(self) -> str:
        """The host as written in URLs and addresses (an IPv6 literal in brackets)."""
        return f"[{self.host}]" if ":" in self.host else self.host

    @classmethod
    def parse(cls, address: str) -> Endpoint:
        """Inverse of `address` ("127.0.0.1:5432"; IPv6 as "[::1]:5432")."""
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"not a host:port address: {address!r}")
        return cls(host.strip("[]"), int(port))


@runtime_checkable
class PostgresServer(Protocol):
    endpoint: Endpoint

    def create_database(self, name: str) -> None:
        """Create database `name` unless it exists."""

    def url(self, database: str, endpoint: Endpoint | None = None) -> str:
        """postgresql://user:password@host:port/database; `endpoint` replaces host and port
        (to send a service through a Toxiproxy proxy)."""


@runtime_checkable
class RedisServer(Protocol):
    endpoint: Endpoint

    def url(self, endpoint: Endpoint | None = None) -> str:
        """redis://host:port/0; `endpoint` replaces host and port."""


@runtime_checkable
class ToxiproxyServer(Protocol):
    endpoint: Endpoint  # of the HTTP API, not of any proxy

    @property
    def api_url(self) -> str:
        """http://host:port of the API."""


@runtime_checkable
class InfraProvider(Protocol):
    """``postgres``/``redis`` return a running, ready server (started on first call, the
    same one after). ``prepare_postgres``/``prepare_redis`` return that same server at once,
    possibly before it runs: its endpoint and URLs are final, so proxies can point at it
    and services can be configured while it boots."""

    name: str

    def prepare_postgres(self, name: str = "postgres") -> PostgresServer: ...

    def postgres(self, name: str = "postgres") -> PostgresServer: ...

    def prepare_redis(self, name: str = "redis") -> RedisServer: ...

    def redis(self, name: str = "redis") -> RedisServer: ...

    def toxiproxy(self) -> ToxiproxyServer: ...

    def close(self) -> None:
        """Stop everything this provider started, newest first; idempotent. One failure does
        not stop the rest and is not raised."""
