"""The JSON Schema of fuzz.yaml, generated from the pydantic model (for editors).

``python -m harness.fuzz.schema`` rewrites ``scenarios/fuzz/fuzz.schema.json``; ``--check``
only compares and exits 1 when the file is stale (a test runs the same check).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.fuzz.settings import FuzzFile

DEFAULT_PATH = Path("scenarios/fuzz/fuzz.schema.json")


def settings_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://harness.invalid/schemas/fuzz-1.json",
        "title": "harness fuzz settings (version 1)",
        **FuzzFile.model_json_schema(),
    }


def rendered() -> str:
    return json.dumps(settings_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.fuzz.schema")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = rendered()
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is stale: run python -m harness.fuzz.schema", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
