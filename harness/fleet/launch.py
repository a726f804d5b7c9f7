"""Launch a fleet from configuration: a fresh work directory, a provider, the lifecycle.

This is what the CLI and the pytest plugin call; they only turn options into arguments.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.config import FleetBackend, HarnessConfig, InfraConfig
from harness.errors import InputError
from harness.fleet.lifecycle import Fleet
from harness.fleet.manifest import Manifest, load_manifest
from harness.fleet.subset import only_services
from harness.infra import runs
from harness.infra.providers import make_provider

if TYPE_CHECKING:
    from harness.fleet.containers import ContainerBackend


def launch(
    manifest: Manifest | str | Path,
    *,
    provider: str = "local",
    external: Mapping[str, str] | None = None,
    infra: InfraConfig | None = None,
    toxiproxy_bin: str | Path | None = None,
    proxied: bool | None = None,
    keep_logs: Path | None = None,
    temp_parent: Path | None = None,
    services: Collection[str] | None = None,
    fleet_backend: FleetBackend = "process",
    zygote: bool | None = None,
) -> Fleet:
    """Start the fleet in a new temporary directory, removed again when the fleet closes.

    ``keep_logs`` names a directory that receives every log at teardown; ``temp_parent``
    is where the temporary directory is made (the system's temp dir by default); ``infra``
    says where the local provider's servers are (``toxiproxy_bin`` overrides its Toxiproxy).
    ``services`` starts only those services and what they need (see
    :func:`harness.fleet.subset.only_services`); None starts them all. ``zygote`` says
    whether ``module:`` services are forked from a zygote (:mod:`harness.fleet.zygote`);
    None takes ``infra.zygote`` (on by default). ``fleet_backend`` ``"docker"`` runs the
    services as containers (their image built first when the manifest says how, see
    :mod:`harness.fleet.images`; no zygote then).
    """
    spec = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
    if services is not None:
        spec = only_services(spec, services)
    containers = _container_backend(spec) if fleet_backend == "docker" else None
    if containers is None:
        for name, svc in spec.services.items():
            if svc.command is None and svc.module is None:
                raise InputError(
                    f"service {name} has only an image: run it with --fleet-backend docker"
                )
    workdir = Path(tempfile.mkdtemp(prefix=f"harness-{spec.name}-", dir=temp_parent))
    # Recorded at once: if this process is killed, the next run (or `harness fleet sweep`)
    # removes the directory; Fleet.close forgets it once it has removed it.
    runs.current().add_path(workdir)
    # mkdtemp makes it 0700; PostgreSQL runs as its own user when we are root and keeps its
    # cluster here only if it can get through.
    workdir.chmod(0o711)
    binaries = infra or InfraConfig()
    if toxiproxy_bin is not None:
        binaries = replace(binaries, toxiproxy_bin=Path(toxiproxy_bin))
    try:
        servers = make_provider(provider, workdir / "infra", infra=binaries, urls=external)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        runs.current().drop_path(workdir)
        raise
    return Fleet.start(
        spec,
        servers,
        workdir,
        proxied=proxied,
        keep_logs=keep_logs,
        remove_workdir=True,
        containers=containers,
        # A container runs its own process: nothing to fork.
        zygote=containers is None and (binaries.zygote if zygote is None else zygote),
    )


def _container_backend(manifest: Manifest) -> ContainerBackend:
    from harness.fleet.containers import ContainerBackend
    from harness.fleet.images import ensure_image

    backend = ContainerBackend(manifest)  # every service has an image: checked first
    ensure_image(manifest)
    return backend


def launch_from_config(
    config: HarnessConfig,
    *,
    manifest: Manifest | str | Path | None = None,
    proxied: bool | None = None,
    services: Collection[str] | None = None,
) -> Fleet:
    """:func:`launch` with everything taken from ``config`` (manifest overridable)."""
    keep = None
    if config.keep_logs:
        keep = config.report_dir / "logs" / time.strftime("fleet-%Y%m%d-%H%M%S")
    return launch(
        manifest if manifest is not None else config.manifest,
        provider=config.provider,
        external=config.external,
        infra=config.infra,
        proxied=proxied,
        keep_logs=keep,
        services=services,
        fleet_backend=config.fleet_backend,
    )
