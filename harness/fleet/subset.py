"""A manifest cut down to some of its services and everything they need.

Contract verification starts only the providers it verifies (each with what it calls, its
database and broker); the rest of the fleet, and infrastructure nobody left uses, is not
started at all.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from harness.errors import FleetError
from harness.fleet.manifest import Manifest, service_dependencies


def needed_services(manifest: Manifest, names: Iterable[str]) -> set[str]:
    """``names`` plus every service they call or depend on, transitively."""
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in manifest.services]
    if unknown:
        known = ", ".join(sorted(manifest.services))
        raise FleetError(f"unknown service(s) {', '.join(unknown)} (services: {known})")
    graph = service_dependencies(manifest)
    needed: set[str] = set()
    for name in wanted:
        needed |= {name, *nx.descendants(graph, name)}
    return needed


def only_services(manifest: Manifest, names: Iterable[str]) -> Manifest:
    """The manifest with ``names`` and their dependencies only; unused infra is dropped."""
    keep = needed_services(manifest, names)
    if not keep:
        raise FleetError("no services selected")
    services = {name: spec for name, spec in manifest.services.items() if name in keep}
    used = {
        ref.infra
        for spec in services.values()
        for ref in (spec.database, spec.broker)
        if ref is not None
    }
    infra = {name: spec for name, spec in manifest.infra.items() if name in used}
    # model_copy keeps the private source path, so root_dir() still resolves the same way.
    return manifest.model_copy(update={"services": services, "infra": infra})
