"""The JSON Schema of fuzz.yaml, generated from the pydantic model (for editors).

``python -m harness.fuzz.schema`` rewrites ``scenarios/fuzz/fuzz.schema.json``; ``--check``
only compares and exits 1 when the file is stale (a test runs the same check).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness import schemafile
from harness.fuzz.settings import FuzzFile

DEFAULT_PATH = Path("scenarios/fuzz/fuzz.schema.json")


def settings_schema() -> dict[str, Any]:
    return schemafile.model_schema(
        FuzzFile,
        schema_id="https://harness.invalid/schemas/fuzz-1.json",
        title="harness fuzz settings (version 1)",
    )


def rendered() -> str:
    return schemafile.render(settings_schema())


def main(argv: list[str] | None = None) -> int:
    return schemafile.main(
        argv, module="harness.fuzz.schema", default_path=DEFAULT_PATH, rendered=rendered
    )


if __name__ == "__main__":
    sys.exit(main())
