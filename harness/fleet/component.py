"""Component tests: one service of the manifest against containerised dependencies.

``start_component(config, "orders")`` starts that service (and the services it calls or
requires, which it cannot run without) as the fleet would, on the docker provider: its
database in a PostgreSQL container (one server, a database per service), its broker in a
Redis container, and Toxiproxy on every edge, so a test can cut, slow or break the
service's database and broker connections (``fleet.edge("orders->postgres").down()``) and
check what the service does. Several services may be asked for together (a producer and
its consumer on one broker). ``env`` overrides the services' variables for this run
(shorter timeouts, say) without touching the manifest.

The pytest plugin's ``component`` fixture is this call with the session's configuration;
nothing here knows any particular service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.config import HarnessConfig
from harness.fleet.launch import launch
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest, load_manifest

__all__ = ["start_component", "with_service_env"]


def with_service_env(manifest: Manifest, service: str, env: Mapping[str, str]) -> Manifest:
    """The manifest with ``env`` merged over ``service``'s own variables."""
    spec = manifest.services[service]
    services = {**manifest.services, service: spec.model_copy(update={"env": {**spec.env, **env}})}
    # model_copy keeps the manifest's source path, so its root directory resolves the same.
    return manifest.model_copy(update={"services": services})


def start_component(
    config: HarnessConfig,
    service: str | Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    provider: str = "docker",
    manifest: Manifest | Path | None = None,
    keep_logs: Path | None = None,
) -> Fleet:
    """Start ``service`` (or several together) of the configured manifest (or
    ``manifest``) with what it needs, every edge through Toxiproxy; ``env`` applies to each
    service named. The caller closes the returned fleet."""
    names = [service] if isinstance(service, str) else list(service)
    spec = (
        manifest if isinstance(manifest, Manifest) else load_manifest(manifest or config.manifest)
    )
    for name in names if env else []:
        spec = with_service_env(spec, name, env or {})
    return launch(
        spec,
        provider=provider,
        external=config.external,
        infra=config.infra,
        proxied=True,
        keep_logs=keep_logs,
        services=names,
    )
