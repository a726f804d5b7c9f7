"""Build the pinned Toxiproxy into a per-user cache, and say what a found one is.

Toxiproxy is in no Python index nor in Debian: a user outside this repository had to do
by hand what ``make setup`` does (``go install`` Shopify's server and CLI, rename them).
:func:`build` does it into ``$XDG_CACHE_HOME/harness/toxiproxy/<version>/`` (else
``~/.cache/...``), which :func:`harness.infra.local_toxiproxy.find_toxiproxy_server`
searches after the repository's ``.tools/bin``. ``harness setup toxiproxy`` and the
repository's ``.ci/install-toxiproxy`` call it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.errors import InfraError

__all__ = [
    "TOXIPROXY_VERSION",
    "build",
    "cache_dir",
    "find_go",
    "go_version",
    "installed_version",
]

TOXIPROXY_VERSION = "v2.12.0"
_MODULE = "github.com/Shopify/toxiproxy/v2/cmd"
# Go's own installer puts it here; Debian's golang package puts it on PATH.
_GO_PLACES = (Path("/usr/local/go/bin/go"), Path.home() / "go" / "bin" / "go")
_VERSION_FILE = ".toxiproxy-version"
_BUILD_TIMEOUT = 900.0


def cache_dir(version: str = TOXIPROXY_VERSION) -> Path:
    """Where :func:`build` puts toxiproxy-server and toxiproxy-cli for this user."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harness" / "toxiproxy" / version


def find_go() -> str | None:
    found = shutil.which("go")
    if found is not None:
        return found
    return next((str(place) for place in _GO_PLACES if place.is_file()), None)


def go_version(go: str) -> str:
    """``go1.26.0`` and the like; InfraError when the binary does not answer."""
    try:
        done = subprocess.run(
            [go, "version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise InfraError(f"{go} version: {exc}") from exc
    match = re.search(r"go\d+(\.\d+)+", done.stdout)
    return match.group(0) if match else done.stdout.strip()


def installed_version(binary: str | Path) -> str:
    """The version of a toxiproxy-server: the one recorded beside it by a build (a
    go-installed binary calls itself "git"), else what ``-version`` prints."""
    recorded = Path(binary).parent / _VERSION_FILE
    if recorded.is_file():
        return recorded.read_text(encoding="utf-8").strip()
    try:
        done = subprocess.run(
            [str(binary), "-version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip()
    return text.rsplit(" ", 1)[-1] if text else "unknown"


def build(
    version: str = TOXIPROXY_VERSION,
    *,
    dest: Path | None = None,
    go: str | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Path:
    """Build toxiproxy-server and toxiproxy-cli ``version`` into ``dest`` (the cache by
    default) with Go; the server's path. Nothing is done when they are there already."""
    target = dest or cache_dir(version)
    server, cli = target / "toxiproxy-server", target / "toxiproxy-cli"
    recorded = target / _VERSION_FILE
    if (
        server.is_file()
        and cli.is_file()
        and recorded.is_file()
        and recorded.read_text(encoding="utf-8").strip() == version
    ):
        say(f"toxiproxy {version}: already in {target}")
        return server
    go = go or find_go()
    if go is None:
        raise InfraError(
            "Go is needed to build Toxiproxy (Go >= 1.23): install it (Debian/Ubuntu: "
            "apt-get install golang-go; else https://go.dev/dl/), then run "
            "`harness setup toxiproxy` again"
        )
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="harness-toxiproxy-") as build_dir:
        env = {**os.environ, "GOBIN": build_dir, "CGO_ENABLED": "0"}
        for part in ("server", "cli"):
            say(f"go install {_MODULE}/{part}@{version} ...")
            try:
                done = subprocess.run(
                    [go, "install", f"{_MODULE}/{part}@{version}"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=_BUILD_TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise InfraError(f"go install {part}@{version}: {exc}") from exc
            if done.returncode != 0:
                raise InfraError(
                    f"go install {_MODULE}/{part}@{version} failed "
                    f"(exit {done.returncode}):\n{done.stderr.strip()[-2000:]}"
                )
        # Upstream names them `server` and `cli`; everyone else calls them toxiproxy-*.
        for built, final in (("server", server), ("cli", cli)):
            partial = final.with_suffix(".partial")
            shutil.copy2(Path(build_dir) / built, partial)
            partial.chmod(0o755)
            partial.replace(final)
    recorded.write_text(version + "\n", encoding="utf-8")
    say(f"toxiproxy {version}: built into {target}")
    return server
