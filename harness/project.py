"""A project: its resolved configuration and its fleet manifest, each read once.

Both adapters build one (``Project.load(config)``) and pass it down to the capabilities, so
a run parses the manifest once, whoever asks for it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from harness.config import HarnessConfig
from harness.fleet.launch import launch_from_config
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest, load_manifest

__all__ = ["Project"]


@dataclass(frozen=True)
class Project:
    config: HarnessConfig
    manifest: Manifest

    @classmethod
    def load(cls, config: HarnessConfig) -> Project:
        """Read the configured manifest (a bad one raises ManifestError: nothing started)."""
        return cls(config, load_manifest(config.manifest))

    @property
    def root(self) -> Path:
        return self.config.root

    def launch(
        self,
        *,
        manifest: Manifest | None = None,
        services: Collection[str] | None = None,
        proxied: bool | None = None,
    ) -> Fleet:
        """Start the fleet (``manifest`` a variant of this one, e.g. with fuzz overrides)."""
        return launch_from_config(
            self.config, manifest=manifest or self.manifest, services=services, proxied=proxied
        )
