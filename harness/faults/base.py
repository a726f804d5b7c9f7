"""One interface for every fault: inject() and revert(), with a description for journals."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Protocol, Self, TypeVar, runtime_checkable


@runtime_checkable
class Fault(Protocol):
    description: str

    def inject(self) -> None: ...

    def revert(self) -> None: ...


_F = TypeVar("_F", bound=Fault)


@contextmanager
def applied(fault: _F) -> Iterator[_F]:
    """Inject on enter, revert on exit, also when the body raises.

    If inject() itself fails nothing is reverted: a fault that was not applied has nothing
    to undo (a chaos run's rollback still resets everything).
    """
    fault.inject()
    try:
        yield fault
    finally:
        fault.revert()


class ReversibleFault(ABC):
    """Base of our faults: idempotent inject/revert, usable directly as a context manager.

    Idempotent because a chaos timeline and its rollbacks may both revert one fault.
    """

    description: str = ""

    def __init__(self) -> None:
        self.active = False

    def inject(self) -> None:
        if not self.active:
            self._inject()
            self.active = True

    def revert(self) -> None:
        if self.active:
            self._revert()
            self.active = False

    @abstractmethod
    def _inject(self) -> None: ...

    @abstractmethod
    def _revert(self) -> None: ...

    def __enter__(self) -> Self:
        self.inject()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.revert()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description!r} active={self.active}>"
