"""Infrastructure providers: PostgreSQL, Redis and Toxiproxy as local processes or URLs."""

from harness.infra.base import (
    Endpoint,
    InfraProvider,
    PostgresServer,
    RedisServer,
    ToxiproxyServer,
)
from harness.infra.process import ManagedProcess
from harness.infra.providers import make_provider

__all__ = [
    "Endpoint",
    "InfraProvider",
    "ManagedProcess",
    "PostgresServer",
    "RedisServer",
    "ToxiproxyServer",
    "make_provider",
]
