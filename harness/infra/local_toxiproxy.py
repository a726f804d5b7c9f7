"""Shopify's toxiproxy-server (v2) as a local process; its API binds 127.0.0.1 only."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from harness.errors import InfraError
from harness.infra.base import Endpoint
from harness.infra.ports import free_port, port_open
from harness.infra.process import ManagedProcess
from harness.infra.toxiproxy_install import TOXIPROXY_VERSION, cache_dir

REPO_TOOL = Path(".tools/bin/toxiproxy-server")
# Toxiproxy answers 403 to a User-Agent starting with "Mozilla/".
_USER_AGENT = "harness-infra"


def find_toxiproxy_server(explicit: str | None = None, cwd: Path | None = None) -> str:
    """The argument (``infra.toxiproxy_bin`` of the configuration), then
    .tools/bin/toxiproxy-server in the working directory or one of its parents (the
    repository), then the per-user cache ``harness setup toxiproxy`` builds into, then
    PATH."""
    if explicit:
        if Path(explicit).is_file():
            return explicit
        raise InfraError(f"toxiproxy-server not found at {explicit} (infra.toxiproxy_bin)")
    start = (cwd or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        if (directory / REPO_TOOL).is_file():
            return str(directory / REPO_TOOL)
    cached = cache_dir() / "toxiproxy-server"
    if cached.is_file():
        return str(cached)
    found = shutil.which("toxiproxy-server")
    if found is not None:
        return found
    raise InfraError(
        "toxiproxy-server not found; tried: infra.toxiproxy_bin (HARNESS_TOXIPROXY_BIN, "
        f"not set), {REPO_TOOL} in {start} and its parents, {cached}, and PATH. "
        f"Build it with `harness setup toxiproxy` (needs Go), or: go install "
        f"github.com/Shopify/toxiproxy/v2/cmd/server@{TOXIPROXY_VERSION} "
        "(the binary is named `server`; rename it toxiproxy-server)"
    )


def api_answers(api_url: str, timeout: float = 0.5) -> bool:
    response = httpx.get(f"{api_url}/version", timeout=timeout, headers={"User-Agent": _USER_AGENT})
    return response.status_code == 200


class LocalToxiproxy:
    def __init__(self, root: Path, *, binary: str | None = None, seed: int | None = None) -> None:
        self.endpoint = Endpoint("127.0.0.1", free_port())
        argv = [
            find_toxiproxy_server(binary),
            "-host",
            self.endpoint.host,
            "-port",
            str(self.endpoint.port),
        ]
        if seed is not None:
            # Toxicity and jitter draw from this generator: a seed makes runs repeatable.
            argv += ["-seed", str(seed)]
        self.process = ManagedProcess("toxiproxy", argv, log_path=root / "toxiproxy.log")

    @property
    def api_url(self) -> str:
        return f"http://{self.endpoint.host}:{self.endpoint.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.process.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 10.0) -> None:
        # An HTTP client per attempt is costly (an SSL context each): one only once the
        # port is open, which is a few microseconds to check.
        self.process.wait_until(
            lambda: port_open(self.endpoint.host, self.endpoint.port) and api_answers(self.api_url),
            timeout,
            interval=0.01,
            what=f"GET {self.api_url}/version",
        )

    def stop(self) -> None:
        self.process.stop()

    def remove_data(self) -> None:
        """Toxiproxy keeps its proxies in memory; nothing on disk."""
