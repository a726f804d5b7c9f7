"""pytest-specific code of the plugin (the only place besides ``harness/pytest_plugin.py``
that imports pytest): the configuration resolver, and the suites, one module each
(``contracts``, ``fuzz``, ``load``, ``chaos``), registered by the plugin only when their switch is
given. This module stays cheap to import: the plugin imports it on every pytest run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.project import Project

__all__ = ["INI", "deselect", "harness_config", "harness_project"]

INI = {
    "harness_manifest": ("manifest", "fleet manifest (YAML), relative to the rootdir"),
    "harness_provider": ("provider", "infra provider: local | docker | external"),
    "harness_fleet_backend": ("fleet_backend", "how services run: process | docker"),
    "harness_report_dir": ("report_dir", "directory for reports and kept logs"),
    "harness_toxiproxy_bin": ("infra.toxiproxy_bin", "path of toxiproxy-server (local provider)"),
    "harness_load_profiles": ("load.profiles", "directory of load profiles collected by --load"),
    "harness_chaos_scenarios": (
        "chaos.scenarios",
        "directory of chaos scenarios collected by --chaos",
    ),
    "harness_chaos_timing": (
        "chaos.timing",
        "enforce | report: whether game-day latency and throughput checks decide the verdict",
    ),
}
"""The plugin's ini settings: name -> (the configuration key it sets, help)."""

_config_key = pytest.StashKey["HarnessConfig"]()
_project_key = pytest.StashKey["Project"]()


def harness_config(config: pytest.Config) -> HarnessConfig:
    """The configuration every suite uses, resolved once per session: files < ini <
    ``HARNESS_*`` environment < command-line options."""
    if _config_key not in config.stash:
        from harness.config import load_config

        ini = {key: config.getini(name) or None for name, (key, _) in INI.items()}
        options = {
            "manifest": config.getoption("harness_manifest"),
            "provider": config.getoption("harness_provider"),
            "fleet_backend": config.getoption("harness_fleet_backend"),
            "keep_logs": config.getoption("harness_keep_logs"),
        }
        config.stash[_config_key] = load_config(
            start=config.rootpath, overrides=options, project=ini
        )
    return config.stash[_config_key]


def harness_project(config: pytest.Config) -> Project:
    """The configuration and its manifest, read once per session for every suite."""
    if _project_key not in config.stash:
        from harness.project import Project

        config.stash[_project_key] = Project.load(harness_config(config))
    return config.stash[_project_key]


def deselect(
    config: pytest.Config, items: list[pytest.Item], chosen: Callable[[pytest.Item], bool]
) -> None:
    """Take the items ``chosen`` picks out of the run, reported as deselected (a suite that is
    off leaves its tests out of the run rather than skipping them)."""
    left_out = [item for item in items if chosen(item)]
    if left_out:
        items[:] = [item for item in items if not chosen(item)]
        config.hook.pytest_deselected(items=left_out)
