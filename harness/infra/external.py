"""Infrastructure that runs elsewhere, given by URL in configuration; we start and stop nothing.

Keys of `urls` name the servers: `postgres(name)` looks up `urls[name]` (so "postgres" by
default, and more named servers are possible), likewise `redis(name)`; `toxiproxy()` uses
`urls["toxiproxy"]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit

from harness.errors import InfraError
from harness.infra.base import Endpoint
from harness.infra.postgres import create_database, postgres_url

_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "rediss": 6379}


def _split(url: str, schemes: tuple[str, ...], what: str) -> tuple[SplitResult, Endpoint, str]:
    """The parsed URL, its endpoint and its raw (still URL-encoded) userinfo."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise InfraError(f"{what} URL must start with {' or '.join(schemes)}://, got {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise InfraError(f"{what} URL {url!r}: {exc}") from exc
    if not parts.hostname:
        raise InfraError(f"{what} URL {url!r} has no host")
    default_port = _DEFAULT_PORTS.get(parts.scheme, 80 if parts.scheme == "http" else 443)
    userinfo = parts.netloc.rpartition("@")[0]
    return parts, Endpoint(parts.hostname, port or default_port), userinfo


class ExternalPostgres:
    def __init__(self, url: str) -> None:
        parts, self.endpoint, self._userinfo = _split(url, ("postgresql", "postgres"), "PostgreSQL")
        self._query = parts.query
        # The database named in the URL is where we connect to create others.
        self._admin_database = parts.path.lstrip("/") or "postgres"

    def url(self, database: str, endpoint: Endpoint | None = None) -> str:
        return postgres_url(self._userinfo, endpoint or self.endpoint, database, self._query)

    def create_database(self, name: str) -> None:
        create_database(self.url(self._admin_database), name)


class ExternalRedis:
    def __init__(self, url: str) -> None:
        parts, self.endpoint, self._userinfo = _split(url, ("redis", "rediss"), "Redis")
        self._scheme = parts.scheme
        self._database = parts.path.lstrip("/") or "0"
        self._query = parts.query

    def url(self, endpoint: Endpoint | None = None) -> str:
        ep = endpoint or self.endpoint
        credentials = f"{self._userinfo}@" if self._userinfo else ""
        suffix = f"?{self._query}" if self._query else ""
        return f"{self._scheme}://{credentials}{ep.url_host}:{ep.port}/{self._database}{suffix}"


class ExternalToxiproxy:
    def __init__(self, url: str) -> None:
        parts, self.endpoint, _ = _split(url, ("http", "https"), "Toxiproxy API")
        self._scheme = parts.scheme

    @property
    def api_url(self) -> str:
        return f"{self._scheme}://{self.endpoint.url_host}:{self.endpoint.port}"


class ExternalProvider:
    name = "external"

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)
        # Parse everything now: a bad URL in configuration fails at startup, not mid-run.
        self._postgres: dict[str, ExternalPostgres] = {}
        self._redis: dict[str, ExternalRedis] = {}
        self._toxiproxy: ExternalToxiproxy | None = None
        for key, url in self.urls.items():
            scheme = urlsplit(url).scheme
            if key == "toxiproxy":
                self._toxiproxy = ExternalToxiproxy(url)
            elif scheme in ("postgresql", "postgres"):
                self._postgres[key] = ExternalPostgres(url)
            elif scheme in ("redis", "rediss"):
                self._redis[key] = ExternalRedis(url)
            else:
                raise InfraError(f"external infra {key!r}: unsupported URL {url!r}")

    def prepare_postgres(self, name: str = "postgres") -> ExternalPostgres:
        """Someone else's server runs already: the same as :meth:`postgres`."""
        return self.postgres(name)

    def prepare_redis(self, name: str = "redis") -> ExternalRedis:
        return self.redis(name)

    def postgres(self, name: str = "postgres") -> ExternalPostgres:
        if name not in self._postgres:
            raise InfraError(self._missing(name, "a postgresql:// URL"))
        return self._postgres[name]

    def redis(self, name: str = "redis") -> ExternalRedis:
        if name not in self._redis:
            raise InfraError(self._missing(name, "a redis:// URL"))
        return self._redis[name]

    def toxiproxy(self) -> ExternalToxiproxy:
        if self._toxiproxy is None:
            raise InfraError(self._missing("toxiproxy", "the http:// URL of the Toxiproxy API"))
        return self._toxiproxy

    def close(self) -> None:
        """Nothing to stop: these servers belong to someone else."""

    def _missing(self, key: str, expected: str) -> str:
        configured = ", ".join(sorted(self.urls)) or "none"
        return f"external infra: no {key!r} configured ({expected}); configured: {configured}"
