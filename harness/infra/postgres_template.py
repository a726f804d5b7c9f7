"""A cache of freshly initdb'd PostgreSQL clusters: initdb once per machine, copy per server.

initdb is most of a local PostgreSQL's boot (about a second and a half of CPU here, in a
strictly sequential chain the fleet's readiness waits on), and its result depends only on
the server's version, the initdb options and the user it runs as. So the first cluster
made with a given key is copied into the cache, and every later server starts from a
copy of it (tens of milliseconds): a new, empty cluster all the same, never one a run
has used. The copy keeps the superuser password initdb was given, so the cache keeps that
password too (in a file readable by its owner only); servers from one template share it.

``$HARNESS_POSTGRES_TEMPLATES`` moves the cache (default ``$XDG_CACHE_HOME/harness/
postgres-templates``, else ``~/.cache/...``); ``off`` disables it (every server runs
initdb), which is also how ``benchmarks/fleet_boot.py --no-template-cache`` measures a
machine's first boot.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.config import POSTGRES_TEMPLATES_ENV, postgres_templates_dir
from harness.errors import InfraError
from harness.infra import lifeline

TEMPLATES_ENV = POSTGRES_TEMPLATES_ENV
_PASSWORD_FILE = "password"
_CLUSTER_DIR = "data"


def cache_root() -> Path | None:
    """Where templates live; None when the cache is off."""
    return postgres_templates_dir()


def template_key(bindir: Path, initdb_options: Sequence[str], run_as_uid: int | None) -> str:
    """What makes two clusters interchangeable: the binaries, the options, the owner."""
    binaries: list[object] = []
    for name in ("initdb", "postgres"):
        path = (bindir / name).resolve()
        try:
            stat = path.stat()
        except OSError:
            binaries.append([str(path), None])  # running it will say what is wrong
            continue
        binaries.append([str(path), stat.st_size, stat.st_mtime_ns])
    material = json.dumps([binaries, list(initdb_options), run_as_uid])
    return hashlib.sha256(material.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Template:
    """A cached cluster and the superuser password it was made with."""

    path: Path
    password: str

    @property
    def cluster(self) -> Path:
        return self.path / _CLUSTER_DIR


def find(key: str) -> Template | None:
    """The cached template for ``key``, if the cache is on and has one."""
    root = cache_root()
    if root is None:
        return None
    entry = root / key
    try:
        password = (entry / _PASSWORD_FILE).read_text().strip()
    except OSError:
        return None
    if not (entry / _CLUSTER_DIR / "PG_VERSION").is_file() or not password:
        return None
    return Template(entry, password)


def store(key: str, cluster: Path, password: str) -> None:
    """Keep a copy of a cluster initdb has just made (never one a server has run on).

    Concurrent runs may both store: each copies into a private directory and renames it
    into place; the loser's copy is removed. A failure only costs the next run an initdb.
    """
    root = cache_root()
    if root is None:
        return
    with contextlib.suppress(OSError):
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o700)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        try:
            shutil.copytree(cluster, staging / _CLUSTER_DIR, symlinks=True)
            secret = staging / _PASSWORD_FILE
            secret.write_text(password + "\n")
            secret.chmod(0o600)
            # Fails (and is suppressed) when another run stored it first.
            staging.rename(root / key)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def copy_into(template: Template, data_dir: Path, uid: int | None, gid: int | None) -> None:
    """A fresh cluster in ``data_dir`` (which must not exist), owned by ``uid``/``gid``.

    ``cp`` and ``chown`` rather than shutil: the copy runs while the fleet's services
    import, and Python file by file (a thousand files, 40 MB) took seconds on a busy
    machine where ``cp -a`` takes a few dozen milliseconds.
    """
    cp, chown = shutil.which("cp"), shutil.which("chown")
    if cp is None or (uid is not None and chown is None):  # pragma: no cover - no coreutils
        shutil.copytree(template.cluster, data_dir, symlinks=True)
        if uid is not None and gid is not None:
            for directory, dirs, files in os.walk(data_dir):
                for name in (directory, *(os.path.join(directory, n) for n in (*dirs, *files))):
                    os.chown(name, uid, gid, follow_symlinks=False)
        return
    _run([cp, "-a", str(template.cluster), str(data_dir)])
    if uid is not None and gid is not None:
        assert chown is not None
        _run([chown, "-R", f"{uid}:{gid}", str(data_dir)])


def _run(argv: list[str]) -> None:
    # The calling thread waits for it, so it outlives it: see harness.infra.lifeline.
    done = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lifeline.die_with_parent(),
    )
    if done.returncode != 0:
        raise InfraError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
