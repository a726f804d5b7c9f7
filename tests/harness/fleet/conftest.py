"""Stand-in fleets for lifecycle tests: manifests written into tmp dirs, services from
`standin.py` (stdlib only), so the lifecycle is tested without the sample fleet."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

STANDIN = Path(__file__).with_name("standin.py")
TOXIPROXY_BIN = Path(__file__).resolve().parents[3] / ".tools" / "bin" / "toxiproxy-server"

WriteManifest = Callable[..., Path]


# How stand-ins start: "command" (their own interpreter) or "module" (`python -m standin`,
# which the fleet forks from its zygote). test_lifecycle runs every test both ways.
STANDIN_AS = "command"


def standin_service(name: str, **fields: Any) -> dict[str, Any]:
    """A manifest entry for one stand-in service; `env` is merged with NAME."""
    env = {"NAME": name, **fields.pop("env", {})}
    if STANDIN_AS == "module":
        return {"module": STANDIN.stem, "cwd": str(STANDIN.parent), "env": env, **fields}
    return {"command": [sys.executable, str(STANDIN)], "env": env, **fields}


@pytest.fixture
def write_manifest(tmp_path: Path) -> WriteManifest:
    """Write a manifest (a dict, or YAML text) to tmp_path and return its path."""

    def write(content: dict[str, Any] | str, name: str = "fleet.yaml") -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def caller_callee() -> dict[str, Any]:
    """Service a calls service b (GET /call -> b's /hello) through CALLEE_URL."""
    return {
        "version": 1,
        "name": "standin",
        "services": {
            "a": standin_service("a", calls={"b": {"env": "CALLEE_URL"}}),
            "b": standin_service("b"),
        },
    }
