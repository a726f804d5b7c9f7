"""Options every command shares, and the configuration and project they resolve to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.exits import exit_codes
from harness.config import HarnessConfig, load_config
from harness.project import Project

__all__ = [
    "FleetBackendOption",
    "JsonOption",
    "KeepLogsOption",
    "ManifestOption",
    "ProviderOption",
    "configuration",
    "project",
]

ManifestOption = Annotated[
    Path | None,
    typer.Option("--manifest", "-m", help="Fleet manifest (default: from configuration)."),
]
ProviderOption = Annotated[
    str | None,
    typer.Option(
        "--provider", "-p", help="Infra provider: local | docker | external (default: config)."
    ),
]
FleetBackendOption = Annotated[
    str | None,
    typer.Option(
        "--fleet-backend",
        help="How the services run: process | docker (containers) (default: config).",
    ),
]
KeepLogsOption = Annotated[
    bool | None,
    typer.Option("--keep-logs/--no-keep-logs", help="Copy logs to <report_dir>/logs at the end."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def configuration(
    manifest: Path | None = None,
    provider: str | None = None,
    keep_logs: bool | None = None,
    fleet_backend: str | None = None,
) -> HarnessConfig:
    """The configuration with the command's options on top (bad input: exit 2)."""
    overrides = {
        "manifest": manifest,
        "provider": provider,
        "keep_logs": keep_logs,
        "fleet_backend": fleet_backend,
    }
    with exit_codes():
        return load_config(overrides=overrides)


def project(
    manifest: Path | None = None,
    provider: str | None = None,
    keep_logs: bool | None = None,
    fleet_backend: str | None = None,
) -> Project:
    """The configuration and its manifest, read once (bad input: exit 2)."""
    config = configuration(manifest, provider, keep_logs, fleet_backend)
    with exit_codes():
        return Project.load(config)
