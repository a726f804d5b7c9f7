"""pytest's side of load runs: ``--load`` collects profiles, ``run_load_profile`` runs one.

``pytest --load`` adds the profile directory (the configuration's ``load.profiles``: ini
``harness_load_profiles`` or ``[tool.harness.load] profiles``, default ``scenarios/load``)
to what is collected; each YAML profile there becomes a collector whose items are the
checks of :mod:`harness.load.expectations`: one per threshold
(``checkout-short.yaml::http_req_duration: p(95)<800``), the baseline comparison (with
``--load-baseline report.json`` or the profile's ``compare.baseline``), and what its
``expect`` says (an abort, the verdict). The profile runs once, when its first item runs,
and every item reports its own verdict. The plugin registers this module only with
``--load``; ``run_load_profile`` works in any run.

Profiles that target a fleet service use the session's ``fleet`` fixture (started once for
the session); profiles with a ``base_url`` start nothing. A bad profile is a collection
error showing ``file:line: field: message``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import HarnessConfig
from harness.errors import HarnessError, SpecError
from harness.load.errors import LoadBaselineError
from harness.load.expectations import Check, checks
from harness.load.outcome import LoadResult, load_baseline
from harness.load.profiles import LoadProfile, load_profile
from harness.load.session import run_profile
from harness.pytest import harness_config as resolve_config

_SUFFIXES = (".yaml", ".yml")

RunLoadProfile = Callable[..., LoadResult]
_runs_key = pytest.StashKey[dict[Path, LoadResult | BaseException]]()


def _profile_dir(config: pytest.Config) -> Path:
    """The configuration's ``load.profiles`` (ini ``harness_load_profiles`` among its sources)."""
    return resolve_config(config).load.profiles


def _load_enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("load", default=False))


def pytest_configure(config: pytest.Config) -> None:
    if not _load_enabled(config):
        return
    try:
        directory = _profile_dir(config)
    except HarnessError as exc:
        raise pytest.UsageError(f"--load: {exc}") from None
    given = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    if directory.is_dir() and not any(p == directory or directory in p.parents for p in given):
        config.args.append(str(directory))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if not _load_enabled(config) or file_path.suffix not in _SUFFIXES:
        return None
    if _profile_dir(config) not in file_path.resolve().parents:
        return None
    collector: ProfileFile = ProfileFile.from_parent(parent, path=file_path)
    return collector


class ProfileFile(pytest.File):
    """A load profile: one test item per threshold (plus the baseline comparison)."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            profile = load_profile(self.path)
        except SpecError as exc:
            raise self.CollectError(f"invalid load profile:\n{exc}") from None
        baseline_given = bool(self.config.getoption("load_baseline"))
        for check in checks(profile, baseline_given=baseline_given):
            item = pytest.Function.from_parent(
                self, name=check.name, callobj=_run_check(self.path, check)
            )
            item.add_marker(pytest.mark.slow)
            yield item


def _run_check(path: Path, check: Check) -> Callable[..., None]:
    def run(_harness_load_run: RunLoadProfile) -> None:
        result = _harness_load_run(path)
        problem = check.problem(result)
        if problem is not None:
            report = result.artifacts.get("markdown", "")
            pytest.fail(f"{problem}\nreport: {report}", pytrace=False)

    return run


def _run_with_fleet(
    request: pytest.FixtureRequest,
    config: HarnessConfig,
    profile: LoadProfile,
    report_dir: Path,
    **options: Any,
) -> LoadResult:
    needs_fleet = (
        profile.target is not None and profile.base_url is None and options.get("base_url") is None
    )
    fleet = request.getfixturevalue("fleet") if needs_fleet else None
    return run_profile(
        profile, fleet=fleet, config=config, report_dir=report_dir, step_summary=False, **options
    )


@pytest.fixture(scope="session")
def _harness_load_run(
    request: pytest.FixtureRequest, harness_config: HarnessConfig
) -> RunLoadProfile:
    """Runs a collected profile once per session; later items reuse its result (or error)."""
    runs = request.config.stash.setdefault(_runs_key, {})
    baseline_path = request.config.getoption("load_baseline")

    def run(path: Path) -> LoadResult:
        if path not in runs:
            try:
                profile = load_profile(path)
                baseline = load_baseline(Path(baseline_path)) if baseline_path else None
                out = harness_config.report_dir / "load" / profile.name
                runs[path] = _run_with_fleet(
                    request, harness_config, profile, out, baseline=baseline
                )
            except (HarnessError, LoadBaselineError) as exc:
                runs[path] = exc
        outcome = runs[path]
        if isinstance(outcome, BaseException):
            pytest.fail(f"load profile {path.name} could not run:\n{outcome}", pytrace=False)
        return outcome

    return run


def load_profile_runner(
    request: pytest.FixtureRequest, harness_config: HarnessConfig
) -> RunLoadProfile:
    """``run_load_profile("scenarios/load/x.yaml", baseline=None, base_url=None, workers=None)``.

    The plugin's ``run_load_profile`` fixture returns this. Runs the profile now (against
    the session's fleet when it targets a service) and returns the
    :class:`~harness.load.outcome.LoadResult`; reports go to
    ``<report_dir>/load/<profile>-<test name>``. Assert on it, e.g.
    ``assert result.passed, result.summary()``.
    """

    def run(
        profile: str | Path | LoadProfile,
        *,
        baseline: Path | None = None,
        base_url: str | None = None,
        workers: int | None = None,
        report_dir: Path | None = None,
    ) -> LoadResult:
        spec = profile if isinstance(profile, LoadProfile) else load_profile(profile)
        out = report_dir or (
            harness_config.report_dir / "load" / f"{spec.name}-{request.node.name}"
        )
        return _run_with_fleet(
            request,
            harness_config,
            spec,
            out,
            baseline=load_baseline(baseline) if baseline is not None else None,
            base_url=base_url,
            workers=workers,
        )

    return run
