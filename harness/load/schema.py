"""The JSON Schema of load profiles, generated from the pydantic models.

``python -m harness.load.schema`` rewrites ``scenarios/load/profile.schema.json``;
``--check`` only compares and exits 1 when the file is stale (a test runs the same check).
Editors pick the schema up with a first line such as
``# yaml-language-server: $schema=profile.schema.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.load.profiles import LoadProfile

DEFAULT_PATH = Path("scenarios/load/profile.schema.json")


def profile_schema() -> dict[str, Any]:
    schema = LoadProfile.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://harness.invalid/schemas/load-profile-1.json",
        "title": "harness load profile (version 1)",
        **schema,
    }


def rendered() -> str:
    return json.dumps(profile_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.load.schema")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = rendered()
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is stale: run python -m harness.load.schema", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
