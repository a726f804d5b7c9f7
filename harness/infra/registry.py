"""The servers a provider made, by key: what the local and the docker provider share.

A server is made at most once per key (under that key's lock, so PostgreSQL can boot in one
thread while Redis and Toxiproxy start in others) and listed from the moment it exists, so
closing removes what a prepared server already made. It is started at most once; a start
that fails forgets it (asking again makes a fresh one) and discards what it made. Closing
discards every server together, newest first: each discard is a wait of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar

from harness.errors import InfraError

__all__ = ["ServerRegistry"]


class _Server(Protocol):
    def start(self) -> None: ...


S = TypeVar("S", bound=_Server)
T = TypeVar("T")


class ServerRegistry(Generic[S]):
    def __init__(self, owner: str, discard: Callable[[S], None]) -> None:
        """``discard`` stops a server and removes what it made; it never raises (the
        provider keeps and logs what failed)."""
        self._owner = owner
        self._discard = discard
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._by_key: dict[str, S] = {}
        self._order: list[S] = []
        self._running: set[str] = set()
        self._closed = False

    @property
    def servers(self) -> list[S]:
        """In the order they were made, prepared or running."""
        with self._lock:
            return list(self._order)

    def get(self, key: str, factory: Callable[[], S], kind: type[T], *, start: bool = True) -> T:
        """The server under ``key`` (a ``kind``), made if need be and started if ``start``."""
        with self._key_lock(key):
            server = self._by_key.get(key)
            if server is None:
                server = factory()
                self._by_key[key] = server
                with self._lock:
                    self._order.append(server)
            if start and key not in self._running:
                try:
                    server.start()
                except BaseException:
                    with self._lock:
                        if server in self._order:
                            self._order.remove(server)
                    del self._by_key[key]
                    self._discard(server)
                    raise
                self._running.add(key)
            assert isinstance(server, kind)
            return server

    def close(self, thread_prefix: str) -> bool:
        """Discard every server; False when it was closed already (nothing done)."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            servers = list(reversed(self._order))
            self._order.clear()
        if servers:
            with ThreadPoolExecutor(len(servers), thread_name_prefix=thread_prefix) as pool:
                list(pool.map(self._discard, servers))
        return True

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            if self._closed:
                raise InfraError(f"this {self._owner} is closed")
            return self._key_locks.setdefault(key, threading.Lock())
