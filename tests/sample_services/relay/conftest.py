"""The relay reads an orders database (`database_url`) and writes to a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sample_services.common.broker import Streams


@pytest.fixture
def broker(redis_url: str) -> Iterator[Streams]:
    streams = Streams(redis_url, timeout=1.0)
    yield streams
    streams.close()
