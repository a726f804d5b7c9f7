"""GitHub Actions: the job summary (``$GITHUB_STEP_SUMMARY``).

The summary file is shared by every step of a job and is appended to; a step that
overwrote it would erase what earlier steps wrote.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append ``markdown`` to the job summary when running in Actions; the file, or None."""
    env = os.environ if environ is None else environ
    target = env.get(STEP_SUMMARY, "")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path
