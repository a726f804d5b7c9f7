"""Purpose-built fleets for chaos tests (not the sample fleet): two stdlib services from
`mini.py`, started by `command:`, health on /health/ready, HTML error pages, no OpenAPI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import HarnessConfig, load_config

MINI = Path(__file__).with_name("mini.py")
TOXIPROXY_BIN = Path(__file__).resolve().parents[3] / ".tools" / "bin" / "toxiproxy-server"


def mini_service(name: str, **env: str) -> dict[str, Any]:
    return {
        "command": [sys.executable, str(MINI)],
        "readiness": "/health/ready",
        "health": "/health/ready",
        "openapi": None,
        "env": {"NAME": name, **env},
    }


def mini_fleet(call_timeout: str) -> dict[str, Any]:
    """a calls b (GET /call -> b's /hello) with ``call_timeout`` ('' = none at all)."""
    caller = mini_service("a", CALL_TIMEOUT=call_timeout)
    caller["calls"] = {"b": {"env": "CALLEE_URL"}}
    return {"version": 1, "name": "mini", "services": {"a": caller, "b": mini_service("b")}}


MakeConfig = Callable[[dict[str, Any]], HarnessConfig]


@pytest.fixture
def mini_config(tmp_path: Path) -> MakeConfig:
    """The harness configuration for a manifest written into tmp_path."""

    def make(manifest: dict[str, Any]) -> HarnessConfig:
        path = tmp_path / "fleet.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        return load_config(
            start=tmp_path,
            overrides={
                "manifest": str(path),
                "infra.toxiproxy_bin": str(TOXIPROXY_BIN),
                "report_dir": str(tmp_path / "reports"),
            },
            environ={},
        )

    return make


WriteScenario = Callable[[str], Path]


@pytest.fixture
def write_scenario(tmp_path: Path) -> WriteScenario:
    def write(text: str, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


# A latency scenario on the mini fleet's only edge: a's /call must answer within 1 s,
# with its callee's answer or a quick 503, whatever b's edge does.
LATENCY_SCENARIO = """\
version: 1
name: caller-under-latency
steady_state:
  probes:
    - name: a answers /call within 1 s
      http: {service: a, path: /call, timeout: 10s}
      expect_status: [200, 503]
      max_latency_ms: 1000
    - {name: b ready, http: {service: b, path: /health/ready}, expect_status: 200}
  check: {before: true, during: {every: 1s}, after: {within: 10s}}
method:
  - at: 0s
    fault: {edge: a->b, toxic: latency, stream: downstream, attributes: {latency: 2500}}
    duration: 3s
abort: {max_duration: 1m}
"""
