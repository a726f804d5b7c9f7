"""Helpers shared by the sample services' tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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
