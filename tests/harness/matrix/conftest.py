"""Purpose-built fleets for fault-matrix tests (not the sample fleet): `shop.py` services."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from harness.config import load_config
from harness.project import Project

SHOP = Path(__file__).with_name("shop.py")
REPO = Path(__file__).resolve().parents[3]
TOXIPROXY_BIN = REPO / ".tools" / "bin" / "toxiproxy-server"

# A load profile reading a's /call (the load workload's tests and pytest's --fault-matrix-load).
PROFILE = """\
version: 1
name: shop-calls
target: a
stages:
  - {duration: 10s, users: 2, spawn_rate: 2}
wait: {constant_pacing: 0.1}
tasks:
  - name: call
    request: {method: GET, path: /call, expect: [200]}
thresholds:
  http_reqs: ["rate>100000"]    # the profile's own gate: left out by the matrix
"""


def shop_service(name: str, **env: str) -> dict[str, Any]:
    return {
        "command": [sys.executable, str(SHOP)],
        "readiness": "/health/ready",
        "health": "/health/ready",
        "openapi": None,
        "env": {"NAME": name, **env},
    }


def shop_fleet(**caller_env: str) -> dict[str, Any]:
    """a calls b (CALLEE_URL) and c (OTHER_URL, which no test of ours uses)."""
    caller = shop_service("a", **caller_env)
    caller["calls"] = {"b": {"env": "CALLEE_URL"}, "c": {"env": "OTHER_URL"}}
    return {
        "version": 1,
        "name": "shop",
        "services": {"a": caller, "b": shop_service("b"), "c": shop_service("c")},
    }


def write_fleet(directory: Path, manifest: dict[str, Any]) -> Path:
    path = directory / "fleet.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def shop_project(tmp_path: Path, manifest: dict[str, Any], **overrides: str) -> Project:
    """The project of ``manifest`` written under ``tmp_path``: this repository's Toxiproxy,
    reports under ``tmp_path``."""
    path = write_fleet(tmp_path, manifest)
    config = load_config(
        start=tmp_path,
        overrides={
            "manifest": str(path),
            "infra.toxiproxy_bin": str(TOXIPROXY_BIN),
            "report_dir": str(tmp_path / "reports"),
            **overrides,
        },
        environ={},
    )
    return Project.load(config)
