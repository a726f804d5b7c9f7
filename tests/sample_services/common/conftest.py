"""A real downstream server shared by the outbound-client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sample_services.common.live import Downstream, LiveServer


@pytest.fixture(scope="module")
def live_downstream() -> Iterator[tuple[Downstream, LiveServer]]:
    downstream = Downstream()
    with LiveServer(downstream.app) as server:
        try:
            yield downstream, server
        finally:
            downstream.release.set()


@pytest.fixture
def downstream(live_downstream: tuple[Downstream, LiveServer]) -> Iterator[Downstream]:
    """The module's server with fresh counters; held requests are released afterwards."""
    down, _ = live_downstream
    down.hits.clear()
    down.headers.clear()
    down.release.clear()
    yield down
    down.release.set()


@pytest.fixture
def base_url(live_downstream: tuple[Downstream, LiveServer]) -> str:
    return live_downstream[1].url
