"""The idempotency store: one side effect per key, replays, conflicts; SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sample_services.common.db import Database
from sample_services.common.idempotency import (
    IdempotencyRecordMixin,
    IdempotencyStore,
    Outcome,
    fingerprint,
)
from sample_services.common.problems import ProblemError
from tests.sample_services.conftest import database_with_schema


class Base(DeclarativeBase):
    pass


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    pass


class Effect(Base):
    """One row per side effect the action performed (a charge, say)."""

    __tablename__ = "effects"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(64))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """Both databases: for the behaviour that depends on the engine (locks, races)."""
    yield from database_with_schema(database_url, Base)


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Database]:
    """SQLite only: for the bookkeeping rules, which no engine changes (keeps the suite fast)."""
    yield from database_with_schema(f"sqlite:///{tmp_path / 'idem.db'}", Base)


@pytest.fixture
def store(db: Database) -> IdempotencyStore:
    return IdempotencyStore(db, IdempotencyRecord)


@pytest.fixture
def lite_store(lite: Database) -> IdempotencyStore:
    return IdempotencyStore(lite, IdempotencyRecord)


def _effects(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Effect)) or 0


def _charge(label: str, status: int = 201) -> Any:
    def action(session: Session) -> tuple[int, dict[str, Any]]:
        effect = Effect(label=label)
        session.add(effect)
        session.flush()
        return status, {"effect_id": effect.id, "label": label}

    return action


def test_same_key_and_body_replay_the_first_response(store: IdempotencyStore, db: Database) -> None:
    first = store.execute("k1", {"amount": 5}, _charge("first"))
    second = store.execute("k1", {"amount": 5}, _charge("second"))
    assert first == Outcome(201, first.body, replayed=False)
    assert second == Outcome(201, first.body, replayed=True)
    assert second.body["label"] == "first"
    assert _effects(db) == 1


def test_same_key_other_body_is_a_409_conflict(store: IdempotencyStore, db: Database) -> None:
    store.execute("k1", {"amount": 5}, _charge("first"))
    with pytest.raises(ProblemError) as caught:
        store.execute("k1", {"amount": 6}, _charge("second"))
    assert caught.value.status_code == 409
    assert caught.value.code == "idempotency_conflict"
    assert _effects(db) == 1


def test_key_order_in_the_body_does_not_matter(
    lite: Database, lite_store: IdempotencyStore
) -> None:
    lite_store.execute("k1", {"a": 1, "b": [1, 2]}, _charge("first"))
    assert (
        IdempotencyStore(lite, IdempotencyRecord)
        .execute("k1", {"b": [1, 2], "a": 1}, _charge("second"))
        .replayed
    )
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": "1"})


def test_different_keys_are_independent(lite: Database, lite_store: IdempotencyStore) -> None:
    lite_store.execute("k1", {"amount": 5}, _charge("one"))
    lite_store.execute("k2", {"amount": 5}, _charge("two"))
    assert _effects(lite) == 2


def test_a_4xx_outcome_is_stored_and_replayed(lite: Database, lite_store: IdempotencyStore) -> None:
    lite_store.execute("k1", {}, _charge("refused", status=402))
    replay = lite_store.execute("k1", {}, _charge("again", status=201))
    assert (replay.status_code, replay.replayed, replay.body["label"]) == (402, True, "refused")


def test_a_5xx_outcome_is_not_stored_so_the_key_can_be_retried(
    lite: Database, lite_store: IdempotencyStore
) -> None:
    first = lite_store.execute("k1", {}, _charge("failed", status=503))
    second = lite_store.execute("k1", {}, _charge("retried", status=201))
    assert first.replayed is False
    assert second.replayed is False
    assert second.body["label"] == "retried"


def test_an_action_that_raises_leaves_no_trace(store: IdempotencyStore, db: Database) -> None:
    def explode(session: Session) -> tuple[int, dict[str, Any]]:
        session.add(Effect(label="half-done"))
        session.flush()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.execute("k1", {}, explode)
    assert _effects(db) == 0
    assert store.execute("k1", {}, _charge("ok")).replayed is False


def test_concurrent_twins_produce_one_side_effect(
    store: IdempotencyStore, db: Database, database_url: str
) -> None:
    on_postgres = database_url.startswith("postgresql")
    # On PostgreSQL both twins run their action at the same time (the barrier proves it), so
    # the loser must lose the key's primary-key race and roll its effect back. SQLite's
    # BEGIN IMMEDIATE serialises the writers instead, so a barrier there would deadlock.
    barrier = threading.Barrier(2, timeout=10)
    ran: list[str] = []
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []

    def twin(name: str) -> None:
        def action(session: Session) -> tuple[int, dict[str, Any]]:
            ran.append(name)
            if on_postgres:
                barrier.wait()
            return _charge(name)(session)  # type: ignore[no-any-return]

        try:
            outcomes.append(store.execute("twin-key", {"amount": 7}, action))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=twin, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(o.replayed for o in outcomes) == [False, True]
    assert outcomes[0].body == outcomes[1].body
    assert _effects(db) == 1
    if on_postgres:
        assert sorted(ran) == ["a", "b"]  # both acted; one effect was rolled back
