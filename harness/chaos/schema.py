"""The JSON Schema of chaos scenarios, generated from the pydantic models.

``python -m harness.chaos.schema`` rewrites ``scenarios/chaos/scenario.schema.json``;
``--check`` only compares and exits 1 when the file is stale (a test runs the same check).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness import schemafile
from harness.chaos.scenario import Scenario

__all__ = ["DEFAULT_PATH", "main", "rendered", "scenario_schema"]

DEFAULT_PATH = Path("scenarios/chaos/scenario.schema.json")


def scenario_schema() -> dict[str, Any]:
    return schemafile.model_schema(
        Scenario,
        schema_id="https://harness.invalid/schemas/chaos-scenario-1.json",
        title="harness chaos scenario (version 1)",
    )


def rendered() -> str:
    return schemafile.render(scenario_schema())


def main(argv: list[str] | None = None) -> int:
    return schemafile.main(
        argv, module="harness.chaos.schema", default_path=DEFAULT_PATH, rendered=rendered
    )


if __name__ == "__main__":
    sys.exit(main())
