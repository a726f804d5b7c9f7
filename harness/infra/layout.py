"""Where a local server's files go: names become directory and log file names."""

from __future__ import annotations

import re

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def instance_stem(kind: str, name: str) -> str:
    """ "postgres" for the default instance, "postgres-analytics" for a named one."""
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"server name {name!r}: use letters, digits, '_', '.', '-'")
    return kind if name == kind else f"{kind}-{name}"
