"""``with`` blocks for objects that own resources: leaving the block calls ``close()``.

The fleet, the Toxiproxy client, the smoke request client and the invariant context all
work the same way as context managers: entering returns the object itself, leaving (also on
an exception, which then propagates) closes it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Mixin: ``with obj:`` gives ``obj`` and calls ``obj.close()`` on the way out."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
