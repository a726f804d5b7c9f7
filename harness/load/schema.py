"""The JSON Schema of load profiles, generated from the pydantic models.

``python -m harness.load.schema`` rewrites ``scenarios/load/profile.schema.json``;
``--check`` only compares and exits 1 when the file is stale (a test runs the same check).
Editors pick the schema up with a first line such as
``# yaml-language-server: $schema=profile.schema.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness import schemafile
from harness.load.profiles import LoadProfile

DEFAULT_PATH = Path("scenarios/load/profile.schema.json")


def profile_schema() -> dict[str, Any]:
    return schemafile.model_schema(
        LoadProfile,
        schema_id="https://harness.invalid/schemas/load-profile-1.json",
        title="harness load profile (version 1)",
    )


def rendered() -> str:
    return schemafile.render(profile_schema())


def main(argv: list[str] | None = None) -> int:
    return schemafile.main(
        argv, module="harness.load.schema", default_path=DEFAULT_PATH, rendered=rendered
    )


if __name__ == "__main__":
    sys.exit(main())
