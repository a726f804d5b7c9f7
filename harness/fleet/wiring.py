"""How a service is wired to its dependencies: the environment it is started with.

Each dependency reaches the caller as a URL in the variable the manifest names, pointing
at the edge's proxy (or straight at the dependency when the fleet runs unproxied). The
manifest's own variables may use ``${workdir}``, ``${root}``, ``${service}`` and
``${service_dir}``; any other ``$name`` is left as written.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.fleet.graph import Edge, EdgeKind
from harness.fleet.manifest import InfraKind, Manifest
from harness.infra.base import Endpoint, PostgresServer, RedisServer

LOOPBACK = "127.0.0.1"

InfraServer = PostgresServer | RedisServer


@dataclass(frozen=True)
class EdgeProxy:
    """Where an edge's caller connects (``listen``) and where that leads (``upstream``).

    ``proxy`` is the Toxiproxy proxy name; None when the fleet runs unproxied, in which
    case ``listen`` is the upstream itself.
    """

    edge: Edge
    proxy: str | None
    listen: Endpoint
    upstream: Endpoint

    @property
    def name(self) -> str:
        return self.edge.name


def sqlite_url(workdir: Path, database: str) -> str:
    return f"sqlite:///{workdir / 'sqlite' / database}.db"


def dependency_url(
    manifest: Manifest, edge: Edge, listen: Endpoint, infra: Mapping[str, InfraServer]
) -> str:
    """The URL the caller of ``edge`` gets, for a connection to ``listen``."""
    if edge.kind is EdgeKind.HTTP:
        return f"http://{listen.address}"
    server = infra[edge.target]
    if isinstance(server, PostgresServer):
        db = manifest.services[edge.source].database
        assert db is not None, "a database edge comes from a database entry"
        return server.url(db.name, endpoint=listen)
    return server.url(endpoint=listen)


def service_env(
    manifest: Manifest,
    name: str,
    port: int,
    edges: Mapping[str, EdgeProxy],
    infra: Mapping[str, InfraServer],
    workdir: Path,
) -> dict[str, str]:
    """The variables the harness sets for service ``name`` (on top of its inherited ones)."""
    spec = manifest.services[name]
    values = {
        "workdir": str(workdir),
        "root": str(manifest.root_dir()),
        "service": name,
        "service_dir": str(workdir / "services" / name),
    }
    env = {
        key: string.Template(value).safe_substitute(values)
        for key, value in {**manifest.fleet_env(), **spec.rendered_env()}.items()
    }
    env[spec.host_env] = LOOPBACK
    env[spec.port_env] = str(port)
    for wired in edges.values():
        if wired.edge.source == name:
            env[wired.edge.env] = dependency_url(manifest, wired.edge, wired.listen, infra)
    db = spec.database
    if db is not None and manifest.infra[db.infra].kind is InfraKind.SQLITE:
        env[db.env] = sqlite_url(workdir, db.name)
    return env
