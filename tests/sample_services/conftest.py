"""Helpers and fixtures shared by the sample services' tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Barrier
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import DeclarativeBase
from starlette.testclient import TestClient

from sample_services.common.db import Database
from sample_services.common.settings import ServiceSettings
from sample_services.inventory.app import create_app as create_inventory
from sample_services.inventory.settings import InventorySettings
from sample_services.payments.app import create_app as create_payments
from sample_services.payments.settings import PaymentsSettings

T = TypeVar("T")

Race = Callable[[int, Callable[[int], Any]], list[Any]]


def eventually(check: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
    """Poll `check` until it returns a truthy value (returned) or raises no AssertionError.

    Fails with the last AssertionError (or a TimeoutError) once `timeout` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        else:
            if result or result is None:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition still false after {timeout} s")
        time.sleep(interval)


def database_with_schema(url: str, base: type[DeclarativeBase]) -> Iterator[Database]:
    """For a fixture to `yield from`: a database with `base`'s tables, disposed of after."""
    database = Database(url, base)
    database.create_schema()
    yield database
    database.dispose()


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


@dataclass(frozen=True)
class DatabaseService:
    """A service whose only dependency is its own database, as its tests start it."""

    name: str
    create_app: Callable[[Any], FastAPI]
    settings: Callable[..., ServiceSettings]

    def app(self, database_url: str, **settings: Any) -> FastAPI:
        return self.create_app(self.settings(database_url=database_url, **settings))

    def sqlite_app(self, directory: Path, **settings: Any) -> FastAPI:
        """An app on the SQLite file `<directory>/<name>.db`."""
        return self.app(f"sqlite:///{directory / f'{self.name}.db'}", **settings)

    def fixtures(self) -> tuple[Any, ...]:
        """The service's fixtures, for its conftest to bind at module level (in this order):

        `_service_app` and `_hooked_service_client` (what the others share), `<name>_app`
        and `<name>` (an app per test, and it started, on `database_url`: SQLite and
        PostgreSQL), `hooked_<name>` and `unhooked_<name>` (SQLite, test hooks on or off).
        """

        @pytest.fixture(name="_service_app")
        def service_app(database_url: str) -> FastAPI:
            return self.app(database_url)

        @pytest.fixture(name=f"{self.name}_app")
        def app(_service_app: FastAPI) -> FastAPI:
            return _service_app

        @pytest.fixture(name=self.name)
        def client(_service_app: FastAPI) -> Iterator[TestClient]:
            with TestClient(_service_app) as started:
                yield started

        @pytest.fixture(name="_hooked_service_client", scope="module")
        def hooked_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
            directory = tmp_path_factory.mktemp(self.name)
            with TestClient(self.sqlite_app(directory, enable_test_hooks=True)) as started:
                yield started

        @pytest.fixture(name=f"hooked_{self.name}")
        def hooked(_hooked_service_client: TestClient) -> TestClient:
            """SQLite only, one app per module, emptied before each test: what it checks
            (routing, validation, hooks) does not depend on the database."""
            assert _hooked_service_client.post("/_test/reset").status_code == 200
            return _hooked_service_client

        @pytest.fixture(name=f"unhooked_{self.name}")
        def unhooked(tmp_path: Path) -> Iterator[TestClient]:
            with TestClient(self.sqlite_app(tmp_path)) as started:
                yield started

        return service_app, hooked_client, app, client, hooked, unhooked


INVENTORY = DatabaseService("inventory", create_inventory, InventorySettings)
PAYMENTS = DatabaseService("payments", create_payments, PaymentsSettings)
