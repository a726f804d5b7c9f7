"""pytest-specific collection code of the plugin (the only place besides
``harness/pytest_plugin.py`` that imports pytest)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def deselect(
    config: pytest.Config, items: list[pytest.Item], chosen: Callable[[pytest.Item], bool]
) -> None:
    """Take the items ``chosen`` picks out of the run, reported as deselected (a suite that is
    off leaves its tests out of the run rather than skipping them)."""
    left_out = [item for item in items if chosen(item)]
    if left_out:
        items[:] = [item for item in items if not chosen(item)]
        config.hook.pytest_deselected(items=left_out)
