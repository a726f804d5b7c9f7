"""A JSON Schema file generated from a pydantic model and kept in the repository for editors.

Each user-written file format (load profile, fuzz.yaml) has a module with a ``main`` such
as ``python -m harness.load.schema [PATH] [--check]``; this module does the work for all of
them: render the schema (sorted keys, so a regenerated file diffs cleanly), rewrite the file
when it changed, or with ``--check`` only compare and exit 1 when it is stale (a test runs
the same check).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def model_schema(model: type[BaseModel], *, schema_id: str, title: str) -> dict[str, Any]:
    """The model's JSON Schema (by alias) under a ``$schema``, ``$id`` and ``title``."""
    return {
        "$schema": DRAFT,
        "$id": schema_id,
        "title": title,
        **model.model_json_schema(by_alias=True),
    }


def render(schema: Mapping[str, Any]) -> str:
    """The file's text: indented, keys sorted, a final newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(
    argv: list[str] | None, *, module: str, default_path: Path, rendered: Callable[[], str]
) -> int:
    """``python -m <module> [PATH] [--check]``: write ``rendered()`` to PATH unless it holds it."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}")
    parser.add_argument("path", nargs="?", type=Path, default=default_path)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = rendered()
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is stale: run python -m {module}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {args.path}")
    return 0
