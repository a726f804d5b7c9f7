"""A payments app per test, on SQLite and on PostgreSQL (through `database_url`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier
from typing import TypeVar

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from sample_services.payments.app import create_app
from sample_services.payments.settings import PaymentsSettings

T = TypeVar("T")


@pytest.fixture
def payments_app(database_url: str) -> FastAPI:
    return create_app(PaymentsSettings(database_url=database_url))


@pytest.fixture
def payments(payments_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(payments_app) as client:
        yield client


@pytest.fixture(scope="module")
def _hooked_payments_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("payments") / "payments.db"
    settings = PaymentsSettings(database_url=f"sqlite:///{path}", enable_test_hooks=True)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def hooked_payments(_hooked_payments_client: TestClient) -> TestClient:
    """SQLite only, one app per module, emptied before each test: what it checks (routing,
    validation, hooks) does not depend on the database."""
    assert _hooked_payments_client.post("/_test/reset").status_code == 200
    return _hooked_payments_client


@pytest.fixture
def unhooked_payments(tmp_path: Path) -> Iterator[TestClient]:
    settings = PaymentsSettings(database_url=f"sqlite:///{tmp_path / 'payments.db'}")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def race() -> Callable[[int, Callable[[int], T]], list[T]]:
    """Run `work(i)` in n threads released at the same instant; return results in order."""

    def run(n: int, work: Callable[[int], T]) -> list[T]:
        start = Barrier(n)

        def contender(i: int) -> T:
            start.wait(timeout=10)
            return work(i)

        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(contender, range(n)))

    return run
