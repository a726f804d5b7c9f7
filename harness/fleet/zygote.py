"""The fleet's zygote: when to start one, with which modules, and where its log goes.

A fleet with ``module:`` services starts one zygote (:mod:`harness.infra.zygote`) at the
very start of its boot, so its preload (the manifest's ``preload:`` list) overlaps the
servers' start; every ``module:`` service is then forked from it. ``zygote=False``
(``launch(zygote=False)``, ``infra.zygote = false``, ``HARNESS_ZYGOTE=0``) starts every
service the plain way. A zygote that cannot start costs the speed, never the fleet.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from harness.errors import InfraError
from harness.fleet.manifest import Manifest
from harness.infra import zygote as infra_zygote
from harness.infra.zygote import Zygote

log = logging.getLogger(__name__)


def wants_zygote(manifest: Manifest) -> bool:
    """Whether any service could be forked from a zygote (a ``module:`` service)."""
    return infra_zygote.SUPPORTED and any(
        spec.module is not None for spec in manifest.services.values()
    )


def start_zygote(manifest: Manifest, workdir: Path, env: Mapping[str, str]) -> Zygote | None:
    """A started zygote for ``manifest``'s services, or None if it has none to run (or the
    zygote cannot start: the services then start the plain way)."""
    if not wants_zygote(manifest):
        return None
    zygote = Zygote(
        manifest.preload,
        cwd=manifest.root_dir(),
        env=env,
        log_path=workdir / "logs" / "zygote.log",
    )
    try:
        zygote.start()
    except InfraError as exc:
        log.warning("fleet '%s': no zygote (%s); services start the plain way", manifest.name, exc)
        return None
    return zygote
