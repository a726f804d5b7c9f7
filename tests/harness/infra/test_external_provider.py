"""ExternalProvider: servers given by URL; nothing started, nothing stopped."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from harness.errors import InfraError
from harness.infra.base import Endpoint, InfraProvider
from harness.infra.external import ExternalProvider
from harness.infra.local import LocalProvider

URLS = {
    "postgres": "postgresql://app:s%40cret@db.internal:6543/admin?sslmode=disable",
    "redis": "redis://:pw@cache.internal/2",
    "toxiproxy": "http://chaos.internal:8474/",
}


def test_endpoints_come_from_the_urls() -> None:
    provider = ExternalProvider(URLS)
    assert isinstance(provider, InfraProvider)
    assert provider.postgres().endpoint == Endpoint("db.internal", 6543)
    assert provider.redis().endpoint == Endpoint("cache.internal", 6379)
    assert provider.toxiproxy().endpoint == Endpoint("chaos.internal", 8474)
    assert provider.toxiproxy().api_url == "http://chaos.internal:8474"


def test_urls_keep_credentials_and_options_and_swap_database_and_endpoint() -> None:
    provider = ExternalProvider(URLS)
    postgres = provider.postgres()
    assert postgres.url("orders") == (
        "postgresql://app:s%40cret@db.internal:6543/orders?sslmode=disable"
    )
    proxied = Endpoint("127.0.0.1", 21000)
    assert postgres.url("orders", proxied) == (
        "postgresql://app:s%40cret@127.0.0.1:21000/orders?sslmode=disable"
    )
    assert provider.redis().url() == "redis://:pw@cache.internal:6379/2"
    assert provider.redis().url(proxied) == "redis://:pw@127.0.0.1:21000/2"


def test_more_than_one_named_server_of_a_kind() -> None:
    provider = ExternalProvider({**URLS, "analytics": "postgres://u@warehouse/x"})
    assert provider.postgres("analytics").url("y") == "postgresql://u@warehouse:5432/y"


def test_asking_for_what_is_not_configured_says_what_is() -> None:
    provider = ExternalProvider({"redis": "redis://localhost"})
    with pytest.raises(InfraError, match=r"no 'postgres' configured .* configured: redis"):
        provider.postgres()
    with pytest.raises(InfraError, match="no 'toxiproxy' configured"):
        provider.toxiproxy()


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ({"postgres": "mysql://x/y"}, "unsupported URL"),
        ({"toxiproxy": "tcp://x:1"}, "must start with http or https"),
        ({"postgres": "postgresql:///nohost"}, "has no host"),
        ({"redis": "redis://x:notaport"}, "Port could not be cast"),
    ],
)
def test_bad_urls_fail_when_the_provider_is_made(urls: dict[str, str], message: str) -> None:
    with pytest.raises(InfraError, match=message):
        ExternalProvider(urls)


@pytest.mark.slow
@pytest.mark.postgres
def test_create_database_on_a_real_server_given_by_url(local_infra: LocalProvider) -> None:
    local = local_infra.postgres()
    provider = ExternalProvider({"postgres": local.url("postgres")})
    name = f"ext_{uuid.uuid4().hex[:10]}"
    provider.postgres().create_database(name)
    provider.postgres().create_database(name)
    with psycopg.connect(provider.postgres().url(name)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (name,)
    provider.close()
    assert local.process.running  # not ours to stop
