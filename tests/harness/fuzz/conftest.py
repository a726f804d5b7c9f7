"""Small purpose-built fleets (tests/harness/fuzz/apps) to show what fuzzing catches."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.fuzz.seeds import Seed
from harness.fuzz.settings import FuzzFile, FuzzSettings

REPO = Path(__file__).resolve().parents[3]
APPS = "tests.harness.fuzz.apps"

StartFleet = Callable[[dict[str, dict[str, Any]]], Fleet]


def app_service(app: str, **fields: Any) -> dict[str, Any]:
    """A manifest entry running ``tests/harness/fuzz/apps/<app>.py`` with our interpreter."""
    return {"command": [sys.executable, "-m", f"{APPS}.{app}"], "ready_timeout": 20, **fields}


@pytest.fixture
def start_fleet(tmp_path: Path) -> Iterator[StartFleet]:
    """Start a fleet of purpose-built apps (no infrastructure, no proxies); stopped after."""
    started: list[Fleet] = []

    def start(services: dict[str, dict[str, Any]]) -> Fleet:
        manifest = {
            "version": 1,
            "name": "fuzzbed",
            "root": str(REPO),
            "proxied": False,
            "services": services,
        }
        path = tmp_path / f"fleet-{len(started)}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        fleet = launch(path, temp_parent=tmp_path)
        started.append(fleet)
        return fleet

    yield start
    for fleet in started:
        fleet.close()


def fuzz_settings(tmp_path: Path, **spec: Any) -> FuzzSettings:
    return FuzzSettings(
        root=tmp_path,
        spec=FuzzFile.model_validate({"version": 1, **spec}),
        baseline=tmp_path / "baseline.json",
    )


SEED = Seed(20261126, "test", derandomize=True)
