"""The seed of a fuzz run: given, fixed in CI, otherwise fresh, and always printed.

Locally every run draws a new seed, so repeated runs explore more of the input space; the
seed is printed first, so any run can be replayed with ``--seed``. In CI (the ``CI``
variable set, as every CI system does) the run is derandomized: the configured CI seed
(``[tool.harness.fuzz] ci_seed``) and Hypothesis' derandomize mode, so the same commit fuzzes the
same cases and a red build is never a roll of the dice.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from harness.config import FuzzConfig

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
    fixed: int | None = None,
    ci_seed: int = 0,
    environ: Mapping[str, str] | None = None,
) -> Seed:
    """``explicit`` (an option) > ``fixed`` (``fuzz.seed``, e.g. $HARNESS_FUZZ_SEED) > in CI
    ``ci_seed`` (``fuzz.ci_seed``) > fresh. ``environ`` is only asked whether CI is set."""
    ci = in_ci(environ)
    if explicit is not None:
        return Seed(explicit, "given", ci)
    if fixed is not None:
        return Seed(fixed, "fuzz.seed", ci)
    if ci:
        return Seed(ci_seed, "configured CI seed", True)
    # 32 bits: short enough to type, and Hypothesis accepts any int.
    return Seed(secrets.randbelow(2**32), "random", False)


def seed_from_config(
    config: FuzzConfig, explicit: int | None = None, environ: Mapping[str, str] | None = None
) -> Seed:
    """The run's seed from the configuration's fuzz section and an option."""
    return resolve_seed(explicit, fixed=config.seed, ci_seed=config.ci_seed, environ=environ)
