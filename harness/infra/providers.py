"""Choosing a provider by name, as configuration names it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from harness.config import InfraConfig
from harness.errors import ConfigError
from harness.infra.base import InfraProvider
from harness.infra.external import ExternalProvider
from harness.infra.local import LocalProvider

KINDS = ("local", "docker", "external")


def make_provider(
    kind: str,
    workdir: Path,
    *,
    infra: InfraConfig | None = None,
    urls: Mapping[str, str] | None = None,
) -> InfraProvider:
    """ "local": servers started from the machine's packages (``infra`` says where their
    binaries are, and Toxiproxy's seed); "docker": the same servers as containers (``infra``
    names their images); "external": the servers at ``urls`` (name -> URL)."""
    if kind == "local":
        found = infra or InfraConfig()
        return LocalProvider(
            workdir,
            toxiproxy_bin=str(found.toxiproxy_bin) if found.toxiproxy_bin else None,
            toxiproxy_seed=found.toxiproxy_seed,
            postgres_bindir=found.postgres_bindir,
            redis_bin=str(found.redis_server_bin) if found.redis_server_bin else None,
        )
    if kind == "docker":
        # Imported here: the docker provider needs the docker extra (testcontainers).
        from harness.infra.docker import DockerProvider

        return DockerProvider(workdir, infra=infra)
    if kind == "external":
        return ExternalProvider(dict(urls or {}))
    raise ConfigError(f"unknown infra provider {kind!r}; choose one of {', '.join(KINDS)}")
