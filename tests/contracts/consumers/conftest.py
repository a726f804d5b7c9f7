"""What the consumer contract tests share: outbound settings and a client on a mock server.

Every test here is marked `contracts` (module `pytestmark`): plain `pytest` deselects them,
`pytest --contracts` runs them and writes contracts/pacts/ from the ones that pass. Each
drives the caller's real client class (the code the service runs in production) against
pact's mock server, through the same `ResilientClient` with retries and breaker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pact import Pact

from sample_services.common.outbound import ResilientClient
from sample_services.common.settings import OutboundSettings

# Real bounds, shortened backoff: a 503 the consumer retries should not slow the suite.
SETTINGS = OutboundSettings(
    http_connect_timeout=2.0,
    http_read_timeout=5.0,
    http_retry_attempts=3,
    http_backoff_base=0.001,
    http_backoff_cap=0.005,
)

# The shapes the providers answer with, as matchers' examples; shared by the modules.
ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
ISO_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"

# The `consumer_pact` fixture of the harness plugin: consumer_pact("gateway", "orders").
ConsumerPact = Callable[[str, str], Pact]


@pytest.fixture
def resilient() -> Iterator[Callable[[str, str], ResilientClient]]:
    """``resilient(downstream, url)``: the production client class, closed after the test."""
    made: list[ResilientClient] = []

    def make(downstream: str, url: str) -> ResilientClient:
        client = ResilientClient(downstream, url, SETTINGS)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
