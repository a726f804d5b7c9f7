"""Writing report files: whole or not at all, so a reader never sees half a report."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path


def write_json(path: Path, data: Any) -> Path:
    """Indented, keys in the order given, non-JSON values (paths, dates) as strings."""
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")
