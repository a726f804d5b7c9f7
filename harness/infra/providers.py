"""Choosing a provider by name, as configuration names it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.infra.base import InfraProvider
from harness.infra.external import ExternalProvider
from harness.infra.local import LocalProvider

KINDS = ("local", "external", "docker")
_EXTERNAL_KEYS = ("postgres", "redis", "toxiproxy")


def make_provider(kind: str, workdir: Path, config: Mapping[str, Any]) -> InfraProvider:
    """`config` for "local": optional `toxiproxy_bin`, `seed` (Toxiproxy's), `postgres_bindir`,
    `redis_bin`. For "external": `urls` (name -> URL), or else the keys postgres, redis and
    toxiproxy of `config` itself."""
    if kind == "local":
        bindir = config.get("postgres_bindir")
        return LocalProvider(
            workdir,
            toxiproxy_bin=config.get("toxiproxy_bin"),
            toxiproxy_seed=config.get("seed"),
            postgres_bindir=Path(bindir) if bindir else None,
            redis_bin=config.get("redis_bin"),
        )
    if kind == "external":
        urls = config.get("urls")
        if urls is None:
            urls = {key: config[key] for key in _EXTERNAL_KEYS if key in config}
        return ExternalProvider(urls)
    if kind == "docker":
        raise HarnessError(
            "the docker infra provider (testcontainers) comes later; "
            "use provider 'local' (processes from the machine's packages) or 'external' (URLs)"
        )
    raise HarnessError(f"unknown infra provider {kind!r}; choose one of {', '.join(KINDS)}")
