"""Edges and start order derived from a manifest.

An edge is one network dependency of a caller: another service (HTTP), a database server or
a broker. Each gets its own Toxiproxy proxy, so two services sharing a database can be cut
off from it separately. SQLite databases are files, not network peers: they are no edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import networkx as nx

from harness.fleet.manifest import InfraKind, Manifest, service_dependencies

EDGE_ARROW = "->"


class EdgeKind(StrEnum):
    HTTP = "http"
    DATABASE = "database"
    BROKER = "broker"


@dataclass(frozen=True)
class Edge:
    """``source`` (a service) depends on ``target`` (a service or an infra name) over TCP."""

    source: str
    target: str
    kind: EdgeKind
    env: str

    @property
    def name(self) -> str:
        return edge_name(self.source, self.target)


def edge_name(source: str, target: str) -> str:
    return f"{source}{EDGE_ARROW}{target}"


def derive_edges(manifest: Manifest) -> list[Edge]:
    """Every network edge of the fleet, sorted by name."""
    found: list[Edge] = []
    for name, svc in manifest.services.items():
        for callee, call in svc.calls.items():
            found.append(Edge(name, callee, EdgeKind.HTTP, call.env))
        db = svc.database
        if db is not None and manifest.infra[db.infra].kind is not InfraKind.SQLITE:
            found.append(Edge(name, db.infra, EdgeKind.DATABASE, db.env))
        if svc.broker is not None:
            found.append(Edge(name, svc.broker.infra, EdgeKind.BROKER, svc.broker.env))
    return sorted(found, key=lambda edge: edge.name)


def start_waves(manifest: Manifest) -> list[list[str]]:
    """Services grouped in waves: each wave depends only on earlier ones.

    A wave's services start together and are awaited together, which keeps a cold boot near
    the longest chain rather than the sum of all services. Infrastructure is not listed: it
    comes before every wave.
    """
    # Callee before caller: reverse the caller -> callee dependency graph.
    order: nx.DiGraph[str] = service_dependencies(manifest).reverse(copy=True)
    return [sorted(wave) for wave in nx.topological_generations(order)]


def start_order(manifest: Manifest) -> list[str]:
    """Infrastructure first (by name), then services in dependency order (waves flattened)."""
    return sorted(manifest.infra) + [name for wave in start_waves(manifest) for name in wave]
