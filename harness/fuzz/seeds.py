"""The seed of a fuzz run: given, fixed in CI, otherwise fresh, and always printed.

Locally every run draws a new seed, so repeated runs explore more of the input space; the
seed is printed first, so any run can be replayed with ``--seed``. In CI (the ``CI``
variable set, as every CI system does) the run is derandomized: the configured seed
(``[tool.harness] seed``) and Hypothesis' derandomize mode, so the same commit fuzzes the
same cases and a red build is never a roll of the dice.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from harness.fuzz.errors import FuzzError

SEED_ENV = "HARNESS_FUZZ_SEED"
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Seed:
    value: int
    source: str  # where it came from, for the printed line
    derandomize: bool

    def describe(self) -> str:
        mode = ", derandomized (CI)" if self.derandomize else ""
        return f"seed {self.value} ({self.source}{mode})"


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() not in _FALSE


def resolve_seed(
    explicit: int | None,
    *,
    configured: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Seed:
    """``explicit`` (an option) > ``HARNESS_FUZZ_SEED`` > in CI the configured seed > fresh."""
    env = os.environ if environ is None else environ
    ci = in_ci(env)
    if explicit is not None:
        return Seed(explicit, "given", ci)
    named = env.get(SEED_ENV, "").strip()
    if named:
        try:
            return Seed(int(named), SEED_ENV, ci)
        except ValueError:
            raise FuzzError(f"{SEED_ENV}={named!r}: expected an integer") from None
    if ci:
        return Seed(configured or 0, "configured seed", True)
    # 32 bits: short enough to type, and Hypothesis accepts any int.
    return Seed(secrets.randbelow(2**32), "random", False)
