"""pytest-specific collection code of the plugin (the only place besides
``harness/pytest_plugin.py`` that imports pytest)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.config import HarnessConfig, load_config

INI = {
    "harness_manifest": "fleet manifest (YAML), relative to the rootdir",
    "harness_provider": "infra provider: local | external",
    "harness_report_dir": "directory for reports and kept logs",
    "harness_toxiproxy_bin": "path of toxiproxy-server (local provider)",
}
"""The plugin's ini settings (name -> help); each maps to the configuration key after
``harness_``."""

_config_key = pytest.StashKey[HarnessConfig]()


def harness_config(config: pytest.Config) -> HarnessConfig:
    """The configuration every suite uses, resolved once per session: files < ini <
    ``HARNESS_*`` environment < command-line options."""
    if _config_key not in config.stash:
        ini = {name.removeprefix("harness_"): config.getini(name) or None for name in INI}
        options = {
            "manifest": config.getoption("harness_manifest"),
            "provider": config.getoption("harness_provider"),
            "keep_logs": config.getoption("harness_keep_logs"),
        }
        config.stash[_config_key] = load_config(
            start=config.rootpath, overrides=options, project=ini
        )
    return config.stash[_config_key]


def deselect(
    config: pytest.Config, items: list[pytest.Item], chosen: Callable[[pytest.Item], bool]
) -> None:
    """Take the items ``chosen`` picks out of the run, reported as deselected (a suite that is
    off leaves its tests out of the run rather than skipping them)."""
    left_out = [item for item in items if chosen(item)]
    if left_out:
        items[:] = [item for item in items if not chosen(item)]
        config.hook.pytest_deselected(items=left_out)
