"""Harness configuration, from one place, in one order of precedence.

Lowest to highest: built-in defaults < ``[tool.harness]`` in pyproject.toml < harness.toml
(beside it) < project settings from another file (pytest's ini options) < ``HARNESS_*``
environment variables < explicit overrides (CLI options, pytest command-line options).
Files are looked up from the start directory upwards; relative paths in a file are relative
to that file's directory (the project root), relative paths typed by the user (environment,
options) to the current directory.

Settings come in typed sections, each a table of its own in a file (``[tool.harness.fuzz]``)
and a dotted key elsewhere (``overrides={"fuzz.seed": 7}``)::

    manifest, provider, fleet_backend, report_dir, keep_logs, external   the fleet
    infra.*      toxiproxy_bin, toxiproxy_seed, redis_server_bin, postgres_bindir, zygote (local);
                 postgres_image, redis_image, toxiproxy_image (docker)
    contracts.*  settings (contracts.yaml), version, broker_retries
    fuzz.*       settings (fuzz.yaml), seed (always used), ci_seed (used when CI is set)
    load.*       profiles (the directory ``pytest --load`` collects)
    chaos.*      scenarios (the directory of game-day scenarios), timing (enforce | report)

This module is the only one that reads ``HARNESS_*`` variables (:data:`ENV_VARS`).

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

__all__ = [
    "ENV_VARS",
    "ChaosConfig",
    "ContractsConfig",
    "FleetBackend",
    "FuzzConfig",
    "HarnessConfig",
    "InfraConfig",
    "LoadConfig",
    "ProviderKind",
    "load_config",
    "postgres_templates_dir",
    "require_docker",
    "runs_dir",
]

ProviderKind = Literal["local", "docker", "external"]
# How the services run: as processes, or as containers (harness.fleet.containers).
FleetBackend = Literal["process", "docker"]

# Environment variables, by (dotted) setting; HARNESS_EXTERNAL_<NAME>=URL adds an external URL.
ENV_VARS = {
    "manifest": "HARNESS_MANIFEST",
    "provider": "HARNESS_PROVIDER",
    "fleet_backend": "HARNESS_FLEET_BACKEND",
    "report_dir": "HARNESS_REPORT_DIR",
    "keep_logs": "HARNESS_KEEP_LOGS",
    "infra.toxiproxy_bin": "HARNESS_TOXIPROXY_BIN",
    "infra.toxiproxy_seed": "HARNESS_TOXIPROXY_SEED",
    "infra.redis_server_bin": "HARNESS_REDIS_SERVER_BIN",
    "infra.postgres_bindir": "HARNESS_POSTGRES_BINDIR",
    "infra.postgres_image": "HARNESS_POSTGRES_IMAGE",
    "infra.redis_image": "HARNESS_REDIS_IMAGE",
    "infra.toxiproxy_image": "HARNESS_TOXIPROXY_IMAGE",
    "infra.zygote": "HARNESS_ZYGOTE",
    "contracts.settings": "HARNESS_CONTRACTS_FILE",
    "contracts.version": "HARNESS_VERSION",
    "contracts.broker_retries": "HARNESS_BROKER_RETRIES",
    "fuzz.settings": "HARNESS_FUZZ_FILE",
    "fuzz.seed": "HARNESS_FUZZ_SEED",
    "fuzz.ci_seed": "HARNESS_FUZZ_CI_SEED",
    "load.profiles": "HARNESS_LOAD_PROFILES",
    "chaos.scenarios": "HARNESS_CHAOS_SCENARIOS",
    "chaos.timing": "HARNESS_CHAOS_TIMING",
}
EXTERNAL_PREFIX = "HARNESS_EXTERNAL_"
DEFAULT_MANIFEST = "fleet.yaml"
_PATH_SETTINGS = (
    "manifest",
    "report_dir",
    "infra.toxiproxy_bin",
    "infra.redis_server_bin",
    "infra.postgres_bindir",
    "contracts.settings",
    "fuzz.settings",
    "load.profiles",
    "chaos.scenarios",
)
# Settings that were renamed: a file still using the old name is told the new one.
_MOVED = {
    "seed": "split into fuzz.ci_seed (fuzzing in CI) and infra.toxiproxy_seed (Toxiproxy)",
    "toxiproxy_bin": "moved to infra.toxiproxy_bin",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What a user on an ordinary CI runner pulls; a machine without a registry builds local
# equivalents and points these at them (this repository's `make test`: .ci/install-docker).
DEFAULT_POSTGRES_IMAGE = "postgres:16"
DEFAULT_REDIS_IMAGE = "redis:7"
DEFAULT_TOXIPROXY_IMAGE = "ghcr.io/shopify/toxiproxy:2.12.0"


class _Infra(_Section):
    toxiproxy_bin: str | None = None
    toxiproxy_seed: int | None = None
    redis_server_bin: str | None = None
    postgres_bindir: str | None = None
    postgres_image: str = DEFAULT_POSTGRES_IMAGE
    redis_image: str = DEFAULT_REDIS_IMAGE
    toxiproxy_image: str = DEFAULT_TOXIPROXY_IMAGE
    zygote: bool = True


class _Contracts(_Section):
    settings: str = "contracts/contracts.yaml"
    version: str | None = None
    broker_retries: int = Field(default=2, ge=0)


class _Fuzz(_Section):
    settings: str = "scenarios/fuzz/fuzz.yaml"
    seed: int | None = None
    ci_seed: int = 0


class _Load(_Section):
    profiles: str = "scenarios/load"


class _Chaos(_Section):
    scenarios: str = "scenarios/chaos"
    # "report": latency and throughput checks are measured and reported but do not decide
    # the verdict (for test runs on shared machines); "enforce" (default): they do.
    timing: Literal["enforce", "report"] = "enforce"


class _Settings(_Section):
    """The schema of ``[tool.harness]`` / harness.toml (and of every other source)."""

    manifest: str = DEFAULT_MANIFEST
    provider: ProviderKind = "local"
    fleet_backend: FleetBackend = "process"
    report_dir: str = "reports"
    # Copy the fleet's logs into <report_dir>/logs at teardown instead of deleting them.
    keep_logs: bool = False
    # For the external provider: infra name (or kind) -> URL.
    external: dict[str, str] = Field(default_factory=dict)
    infra: _Infra = Field(default_factory=_Infra)
    contracts: _Contracts = Field(default_factory=_Contracts)
    fuzz: _Fuzz = Field(default_factory=_Fuzz)
    load: _Load = Field(default_factory=_Load)
    chaos: _Chaos = Field(default_factory=_Chaos)


@dataclass(frozen=True)
class InfraConfig:
    """Where the local provider finds its servers, the docker provider's images, and
    Toxiproxy's own seed (both providers)."""

    toxiproxy_bin: Path | None = None
    toxiproxy_seed: int | None = None
    redis_server_bin: Path | None = None
    postgres_bindir: Path | None = None
    postgres_image: str = DEFAULT_POSTGRES_IMAGE
    redis_image: str = DEFAULT_REDIS_IMAGE
    toxiproxy_image: str = DEFAULT_TOXIPROXY_IMAGE
    # Fork `module:` services from one process that preloaded their shared modules
    # (harness.fleet.zygote); false starts each with its own interpreter.
    zygote: bool = True


@dataclass(frozen=True)
class ContractsConfig:
    settings: Path  # contracts.yaml (absent: the defaults)
    version: str | None = None  # the version verifications record (default: git)
    broker_retries: int = 2


@dataclass(frozen=True)
class FuzzConfig:
    settings: Path  # fuzz.yaml (absent: the defaults)
    seed: int | None = None  # used on every run when set
    ci_seed: int = 0  # used in CI when no seed is set (derandomized runs)


@dataclass(frozen=True)
class LoadConfig:
    profiles: Path


@dataclass(frozen=True)
class ChaosConfig:
    scenarios: Path
    timing: Literal["enforce", "report"] = "enforce"


@dataclass(frozen=True)
class HarnessConfig:
    """Resolved configuration; paths are absolute."""

    root: Path
    manifest: Path
    provider: ProviderKind = "local"
    fleet_backend: FleetBackend = "process"
    report_dir: Path = Path("reports")
    keep_logs: bool = False
    external: dict[str, str] = field(default_factory=dict)
    infra: InfraConfig = field(default_factory=InfraConfig)
    contracts: ContractsConfig = field(
        default_factory=lambda: ContractsConfig(Path("contracts/contracts.yaml"))
    )
    fuzz: FuzzConfig = field(default_factory=lambda: FuzzConfig(Path("scenarios/fuzz/fuzz.yaml")))
    load: LoadConfig = field(default_factory=lambda: LoadConfig(Path("scenarios/load")))
    chaos: ChaosConfig = field(default_factory=lambda: ChaosConfig(Path("scenarios/chaos")))
    # Where each (dotted) setting came from, for diagnostics and error messages.
    sources: dict[str, str] = field(default_factory=dict)

    def given(self, key: str) -> bool:
        """Whether a source named ``key`` (dotted) rather than the default deciding it."""
        return key in self.sources


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


_SECTIONS = ("infra", "contracts", "fuzz", "load", "chaos")


def _flatten(values: Mapping[str, Any]) -> dict[str, Any]:
    """Tables of a file as dotted keys (``{"fuzz": {"seed": 1}}`` -> ``{"fuzz.seed": 1}``)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if key in _SECTIONS and isinstance(value, Mapping):
            flat.update({f"{key}.{name}": item for name, item in value.items()})
        else:
            flat[key] = value
    return flat


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        section, dot, name = key.partition(".")
        if dot and section in _SECTIONS:
            nested.setdefault(section, {})[name] = value
        else:
            nested[key] = value
    return nested


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


def _validate(flat: Mapping[str, Any], source: str) -> _Settings:
    try:
        return _Settings.model_validate(_nest(flat))
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None


def _problem(err: Any) -> str:
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] != "extra_forbidden":
        return f"{where}: {err['msg']}"
    if where in _MOVED:
        return f"{where}: {_MOVED[where]}"
    return f"{where}: unknown setting"


def load_config(
    start: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    project: Mapping[str, Any] | None = None,
    project_source: str = "pytest ini options",
) -> HarnessConfig:
    """Resolve the configuration seen from ``start`` (default: the current directory).

    ``overrides`` holds command-line values, ``project`` file-level ones (pytest's ini),
    relative to the project root; in both, keys are dotted (``fuzz.seed``) and None means
    "not given" and is skipped.
    """
    root = _find_root((start or Path.cwd()).resolve())
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def layer(values: Mapping[str, Any], source: str, base: Path | None = None) -> None:
        flat = _flatten(values)
        _validate(flat, source)  # each source is checked on its own, naming itself
        for key, given in flat.items():
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

    def optional(value: str | None) -> Path | None:
        return absolute(value) if value else None

    infra = settings.infra
    return HarnessConfig(
        root=root,
        manifest=absolute(settings.manifest),
        provider=settings.provider,
        fleet_backend=settings.fleet_backend,
        report_dir=absolute(settings.report_dir),
        keep_logs=settings.keep_logs,
        external=dict(settings.external),
        infra=InfraConfig(
            toxiproxy_bin=optional(infra.toxiproxy_bin),
            toxiproxy_seed=infra.toxiproxy_seed,
            redis_server_bin=optional(infra.redis_server_bin),
            postgres_bindir=optional(infra.postgres_bindir),
            postgres_image=infra.postgres_image,
            redis_image=infra.redis_image,
            toxiproxy_image=infra.toxiproxy_image,
            zygote=infra.zygote,
        ),
        contracts=ContractsConfig(
            settings=absolute(settings.contracts.settings),
            version=settings.contracts.version,
            broker_retries=settings.contracts.broker_retries,
        ),
        fuzz=FuzzConfig(
            settings=absolute(settings.fuzz.settings),
            seed=settings.fuzz.seed,
            ci_seed=settings.fuzz.ci_seed,
        ),
        load=LoadConfig(profiles=absolute(settings.load.profiles)),
        chaos=ChaosConfig(
            scenarios=absolute(settings.chaos.scenarios), timing=settings.chaos.timing
        ),
        sources=sources,
    )


# Machine-wide state, not project settings: one user's runs and caches serve every project.
RUNS_DIR_ENV = "HARNESS_RUNS_DIR"
POSTGRES_TEMPLATES_ENV = "HARNESS_POSTGRES_TEMPLATES"
REQUIRE_DOCKER_ENV = "HARNESS_REQUIRE_DOCKER"


def require_docker(environ: Mapping[str, str] | None = None) -> bool:
    """Whether tests that need a Docker engine fail (rather than skip) when none answers:
    ``$HARNESS_REQUIRE_DOCKER`` set to 1/true/yes (this repository's CI sets it)."""
    env = os.environ if environ is None else environ
    return env.get(REQUIRE_DOCKER_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def runs_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where run journals live: ``$HARNESS_RUNS_DIR``, else the user's XDG state directory."""
    env = os.environ if environ is None else environ
    explicit = env.get(RUNS_DIR_ENV)
    if explicit:
        return Path(explicit)
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "harness" / "runs"


def postgres_templates_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where initdb templates are cached: ``$HARNESS_POSTGRES_TEMPLATES`` (``off``: no
    cache), else the user's XDG cache directory."""
    env = os.environ if environ is None else environ
    explicit = env.get(POSTGRES_TEMPLATES_ENV)
    if explicit is not None:
        return None if explicit.strip().lower() in ("", "off", "0", "no") else Path(explicit)
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harness" / "postgres-templates"
