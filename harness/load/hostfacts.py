"""Facts about where a run happened, for the report: numbers mean little without them."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _package(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_facts(cwd: Path, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Commit, branch and dirtiness of the checkout at ``cwd`` (CI variables when present)."""
    env = os.environ if environ is None else environ
    commit = _git(["rev-parse", "HEAD"], cwd)
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {
        "commit": commit or env.get("GITHUB_SHA"),
        "branch": env.get("GITHUB_HEAD_REF") or _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd),
        "dirty": bool(status) if status is not None else None,
        "ci": bool(env.get("CI")),
        "github_run": env.get("GITHUB_RUN_ID"),
    }


def machine_facts() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "hostname": socket.gethostname(),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "load_average": [round(x, 2) for x in load] if load else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "locust": _package("locust"),
        "harness": _package("harness"),
    }
