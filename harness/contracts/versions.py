"""The version a verification is recorded under: the git commit of the code verified.

``HARNESS_VERSION`` wins (CI knows best, e.g. a build number or the merge commit). Otherwise
the short commit of HEAD, with ``+dirty`` when the work tree has changes: a verification of
uncommitted code proves nothing about the commit, and must not be taken for it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

VERSION_ENV = "HARNESS_VERSION"
UNKNOWN = "unknown"


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def current_version(root: Path, environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if env.get(VERSION_ENV):
        return env[VERSION_ENV]
    sha = _git(root, "rev-parse", "--short=12", "HEAD")
    if not sha:
        return UNKNOWN
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return f"{sha}+dirty" if status else sha


def current_branch(root: Path) -> str | None:
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    return branch if branch and branch != "HEAD" else None
