"""The version a verification is recorded under: the git commit of the code verified.

The configured ``contracts.version`` (``HARNESS_VERSION``) wins (CI knows best, e.g. a build
number or the merge commit). Otherwise the short commit of HEAD. A work tree with
uncommitted changes to tracked files gets
``<commit>+dirty.<tree>``, where ``<tree>`` is the git tree id of the work tree's content:
a verification of uncommitted code proves nothing about the commit and must not be taken
for it, yet the same uncommitted content asked about again (can-i-deploy right after the
run) gets the same version, and other uncommitted content does not.

Writing a verification never changes a version: the matrix lives in git notes
(:mod:`harness.contracts.matrix_notes`), outside the work tree and the index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

UNKNOWN = "unknown"
DIRTY = "+dirty"


def _git(root: Path, *args: str, env: Mapping[str, str] | None = None) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=None if env is None else {**os.environ, **env},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def head_commit(root: Path) -> str | None:
    """The full id of HEAD's commit, None outside a git work tree (or before a commit)."""
    return _git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}")


def work_tree_id(root: Path) -> str | None:
    """The git tree id of the tracked files as they are on disk, staged or not.

    Built in a copy of the index (``git add -u`` there, then ``write-tree``), so the real
    index, the work tree and every ref stay as they were; only objects are added.
    """
    index = _git(root, "rev-parse", "--path-format=absolute", "--git-path", "index")
    if index is None:
        return None
    with tempfile.TemporaryDirectory(prefix="harness-index-") as scratch:
        copy = Path(scratch) / "index"
        try:
            shutil.copyfile(index, copy)
        except FileNotFoundError:
            pass  # no index yet: git starts from an empty one
        except OSError:
            return None
        env = {"GIT_INDEX_FILE": str(copy)}
        if _git(root, "add", "-u", "--", ":/", env=env) is None:
            return None
        return _git(root, "write-tree", env=env)


def current_version(root: Path, configured: str | None = None) -> str:
    """``configured`` (``contracts.version``, e.g. from $HARNESS_VERSION), else git's."""
    if configured:
        return configured
    sha = _git(root, "rev-parse", "--short=12", "HEAD")
    if not sha:
        return UNKNOWN
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    if not status:
        return sha
    tree = work_tree_id(root)
    # Without a tree id the label is all there is: still never taken for the commit.
    return f"{sha}{DIRTY}.{tree[:12]}" if tree else f"{sha}{DIRTY}"


def current_branch(root: Path) -> str | None:
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    return branch if branch and branch != "HEAD" else None
