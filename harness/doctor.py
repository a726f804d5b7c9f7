"""`harness doctor`: can this machine run the configured fleet, and if not, what to do next.

For the current configuration and its manifest it looks for each real part the fleet
needs and says where it found it and which version, or the exact next step: Toxiproxy
(when the fleet is proxied and the provider starts its own), the PostgreSQL and Redis
binaries (when the manifest has such infra and the provider is local), a Docker engine
(when the docker provider is configured), each service's program and working directory,
and Go (needed only to build a missing Toxiproxy). Nothing is started but version
queries; ``ok`` is false when a needed part is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.config import HarnessConfig
from harness.errors import InfraError
from harness.fleet.manifest import InfraKind, Manifest, load_manifest
from harness.infra.local_postgres import find_bindir
from harness.infra.local_redis import find_redis_server
from harness.infra.local_toxiproxy import find_toxiproxy_server
from harness.infra.toxiproxy_install import (
    TOXIPROXY_VERSION,
    find_go,
    go_version,
    installed_version,
)

__all__ = ["Check", "DoctorReport", "diagnose"]

_QUERY_TIMEOUT = 15.0


@dataclass(frozen=True)
class Check:
    """One part: ``needed`` by this fleet or not, ``found`` where (and which version), or
    ``next_step`` saying exactly what to do."""

    name: str
    needed: bool
    ok: bool
    found: str = ""
    next_step: str = ""


@dataclass
class DoctorReport:
    manifest: str
    provider: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks if check.needed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "manifest": self.manifest,
            "provider": self.provider,
            "checks": [asdict(check) for check in self.checks],
        }


def _version_of(argv: list[str]) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_QUERY_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"version unknown ({exc})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "version unknown"


def _toxiproxy(config: HarnessConfig, needed: bool, go_found: bool) -> Check:
    explicit = str(config.infra.toxiproxy_bin) if config.infra.toxiproxy_bin else None
    try:
        binary = find_toxiproxy_server(explicit)
    except InfraError as exc:
        step = (
            "run `harness setup toxiproxy` (builds the pinned "
            f"{TOXIPROXY_VERSION} into your user cache with Go)"
            if go_found
            else "install Go >= 1.23 (Debian/Ubuntu: apt-get install golang-go; else "
            "https://go.dev/dl/), then run `harness setup toxiproxy`"
        )
        return Check("toxiproxy", needed, False, next_step=f"{step}; lookup: {exc}")
    return Check("toxiproxy", needed, True, f"{binary} ({installed_version(binary)})")


def _go() -> tuple[Check, bool]:
    go = find_go()
    if go is None:
        step = "install Go >= 1.23 (Debian/Ubuntu: apt-get install golang-go; https://go.dev/dl/)"
        return Check("go", False, False, next_step=step), False
    try:
        version = go_version(go)
    except InfraError as exc:
        return Check("go", False, False, go, next_step=f"a working Go: {exc}"), False
    return Check("go", False, True, f"{go} ({version})"), True


def _postgres(config: HarnessConfig, needed: bool) -> Check:
    explicit = str(config.infra.postgres_bindir) if config.infra.postgres_bindir else None
    try:
        bindir = find_bindir(explicit)
    except InfraError as exc:
        step = (
            "install PostgreSQL's server (Debian/Ubuntu: apt-get install postgresql) or set "
            f"infra.postgres_bindir (HARNESS_POSTGRES_BINDIR) to the directory of initdb; {exc}"
        )
        return Check("postgresql", needed, False, next_step=step)
    version = _version_of([str(bindir / "postgres"), "--version"])
    return Check("postgresql", needed, True, f"{bindir} ({version})")


def _redis(config: HarnessConfig, needed: bool) -> Check:
    explicit = str(config.infra.redis_server_bin) if config.infra.redis_server_bin else None
    try:
        binary = find_redis_server(explicit)
    except InfraError as exc:
        step = (
            "install Redis (Debian/Ubuntu: apt-get install redis-server) or set "
            f"infra.redis_server_bin (HARNESS_REDIS_SERVER_BIN); {exc}"
        )
        return Check("redis", needed, False, next_step=step)
    version = _version_of([binary, "--version"])
    short = re.search(r"v=(\S+)", version)
    return Check("redis", needed, True, f"{binary} ({short.group(1) if short else version})")


def _docker(needed: bool) -> Check:
    docker = shutil.which("docker")
    if docker is None:
        return Check(
            "docker",
            needed,
            False,
            next_step="install a Docker engine (Debian/Ubuntu: apt-get install docker.io) "
            "and start it (systemctl start docker, or dockerd)",
        )
    try:
        done = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=_QUERY_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("docker", needed, False, docker, next_step=f"`docker version`: {exc}")
    if done.returncode != 0 or not done.stdout.strip():
        reason = done.stderr.strip().splitlines()[-1:] or ["no answer"]
        return Check(
            "docker",
            needed,
            False,
            docker,
            next_step=f"start the Docker engine (systemctl start docker, or dockerd): {reason[0]}",
        )
    return Check("docker", needed, True, f"{docker} (engine {done.stdout.strip()})")


def _services(manifest: Manifest) -> list[Check]:
    checks = []
    for name, spec in sorted(manifest.services.items()):
        argv = spec.argv(sys.executable)
        cwd = manifest.service_cwd(name)
        program = argv[0]
        located = (
            program if ("/" in program and Path(cwd, program).is_file()) else shutil.which(program)
        )
        if not cwd.is_dir():
            checks.append(
                Check(f"service {name}", True, False, next_step=f"no directory {cwd} (cwd/root)")
            )
        elif located is None:
            checks.append(
                Check(
                    f"service {name}",
                    True,
                    False,
                    next_step=f"install `{program}` or put it on PATH (command: {argv[0]} ...)",
                )
            )
        else:
            checks.append(Check(f"service {name}", True, True, f"{located} in {cwd}"))
    return checks


def diagnose(config: HarnessConfig) -> DoctorReport:
    """Every check for ``config`` and its manifest (bad input raises, as everywhere)."""
    report = DoctorReport(str(config.manifest), str(config.provider))
    manifest: Manifest | None = None
    if config.manifest.is_file():
        manifest = load_manifest(config.manifest)
        report.checks.append(
            Check("manifest", True, True, f"{config.manifest}: {len(manifest.services)} services")
        )
    else:
        report.checks.append(
            Check(
                "manifest",
                True,
                False,
                next_step=f"write a manifest at {config.manifest}, or pass --manifest "
                "(see the README, 'Point it at your own fleet')",
            )
        )
    local = str(config.provider) == "local"
    kinds = {spec.kind for spec in manifest.infra.values()} if manifest else set()
    proxied = manifest.proxied if manifest is not None else True
    go_check, go_found = _go()
    toxiproxy = _toxiproxy(config, needed=local and proxied, go_found=go_found)
    report.checks.append(toxiproxy)
    # Go matters only while Toxiproxy is missing: it is how the next step builds it.
    report.checks.append(
        Check(
            go_check.name,
            not toxiproxy.ok and local,
            go_check.ok,
            go_check.found,
            go_check.next_step,
        )
    )
    report.checks.append(_postgres(config, needed=local and InfraKind.POSTGRES in kinds))
    report.checks.append(_redis(config, needed=local and InfraKind.REDIS in kinds))
    if str(config.provider) == "docker":
        report.checks.append(_docker(needed=True))
    if manifest is not None:
        report.checks.extend(_services(manifest))
    return report
