"""Harness configuration, from one place, in one order of precedence.

Lowest to highest: built-in defaults < ``[tool.harness]`` in pyproject.toml < harness.toml
(beside it) < project settings from another file (pytest's ini options) < ``HARNESS_*``
environment variables < explicit overrides (CLI options, pytest command-line options).
Files are looked up from the start directory upwards; relative paths in a file are relative
to that file's directory (the project root), relative paths typed by the user (environment,
options) to the current directory.

TOML (not YAML) is fine here: these few keys live in pyproject.toml by convention, and a
wrong key is reported by name; the user's larger files (manifests, scenarios) are YAML for
line numbers (see :mod:`harness.yamlsource`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError

ProviderKind = Literal["local", "external", "docker"]

# Environment variables, by setting; HARNESS_EXTERNAL_<NAME>=URL adds an external URL.
ENV_VARS = {
    "manifest": "HARNESS_MANIFEST",
    "provider": "HARNESS_PROVIDER",
    "report_dir": "HARNESS_REPORT_DIR",
    "seed": "HARNESS_SEED",
    "toxiproxy_bin": "HARNESS_TOXIPROXY_BIN",
    "keep_logs": "HARNESS_KEEP_LOGS",
}
EXTERNAL_PREFIX = "HARNESS_EXTERNAL_"
DEFAULT_MANIFEST = "fleet.yaml"
_PATH_SETTINGS = ("manifest", "report_dir", "toxiproxy_bin")


class _Settings(BaseModel):
    """The schema of ``[tool.harness]`` / harness.toml (and of every other source)."""

    model_config = ConfigDict(extra="forbid")

    manifest: str = DEFAULT_MANIFEST
    provider: ProviderKind = "local"
    report_dir: str = "reports"
    seed: int = 0
    toxiproxy_bin: str | None = None
    # Copy the fleet's logs into <report_dir>/logs at teardown instead of deleting them.
    keep_logs: bool = False
    # For the external provider: infra name (or kind) -> URL.
    external: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class HarnessConfig:
    """Resolved configuration; paths are absolute."""

    root: Path
    manifest: Path
    provider: ProviderKind = "local"
    report_dir: Path = Path("reports")
    seed: int = 0
    toxiproxy_bin: Path | None = None
    keep_logs: bool = False
    external: dict[str, str] = field(default_factory=dict)
    # Where each setting came from, for `--help`-style diagnostics and error messages.
    sources: dict[str, str] = field(default_factory=dict)


def _find_root(start: Path) -> Path:
    for directory in [start, *start.parents]:
        if (directory / "harness.toml").is_file():
            return directory
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "harness" in _read_toml(pyproject).get("tool", {}):
            return directory
    return start


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: environ[var] for key, var in ENV_VARS.items() if environ.get(var, "") != ""
    }
    external = {
        var.removeprefix(EXTERNAL_PREFIX).lower(): url
        for var, url in environ.items()
        if var.startswith(EXTERNAL_PREFIX) and url
    }
    if external:
        values["external"] = external
    return values


def _validate(values: Mapping[str, Any], source: str) -> _Settings:
    try:
        return _Settings.model_validate(dict(values))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: "
            + ("unknown setting" if err["type"] == "extra_forbidden" else err["msg"])
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None


def load_config(
    start: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    project: Mapping[str, Any] | None = None,
    project_source: str = "pytest ini options",
) -> HarnessConfig:
    """Resolve the configuration seen from ``start`` (default: the current directory).

    ``overrides`` holds command-line values, ``project`` file-level ones (pytest's ini),
    relative to the project root; in both, None means "not given" and is skipped.
    """
    root = _find_root((start or Path.cwd()).resolve())
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def layer(values: Mapping[str, Any], source: str, base: Path | None = None) -> None:
        _validate(values, source)  # each source is checked on its own, naming itself
        for key, given in values.items():
            value = given
            if base is not None and key in _PATH_SETTINGS and isinstance(value, str):
                # Typed by the user at a prompt: relative to where they stand, not the root.
                value = str((base / Path(value).expanduser()).resolve())
            if key == "external" and isinstance(value, Mapping):
                merged["external"] = {**merged.get("external", {}), **value}
            else:
                merged[key] = value
            sources[key] = source

    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("harness", {})
        layer(table, f"{pyproject} [tool.harness]")
    harness_toml = root / "harness.toml"
    if harness_toml.is_file():
        layer(_read_toml(harness_toml), str(harness_toml))
    given_project = {key: value for key, value in (project or {}).items() if value is not None}
    layer(given_project, project_source)
    cwd = Path.cwd()
    layer(_env_values(os.environ if environ is None else environ), "environment", cwd)
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    layer({k: str(v) if isinstance(v, Path) else v for k, v in given.items()}, "options", cwd)

    settings = _validate(merged, "configuration")

    def absolute(value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (root / path).resolve()

    return HarnessConfig(
        root=root,
        manifest=absolute(settings.manifest),
        provider=settings.provider,
        report_dir=absolute(settings.report_dir),
        seed=settings.seed,
        toxiproxy_bin=absolute(settings.toxiproxy_bin) if settings.toxiproxy_bin else None,
        keep_logs=settings.keep_logs,
        external=dict(settings.external),
        sources=sources,
    )
