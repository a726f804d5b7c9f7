"""A PostgreSQL server from the machine's packages, as one ManagedProcess.

We run `postgres` itself rather than `pg_ctl start`: pg_ctl daemonizes, and then neither a
kill fault nor teardown could reach the server through our process group.

Boot time is dominated by initdb (~0.5 s on the build machine with --no-sync; the server
itself accepts connections ~0.1 s after start).

Durability against a machine crash is off (fsync, full_page_writes): a test database lost
with the machine loses nothing of value, and a killed server still finds every write in
the kernel's page cache. synchronous_commit stays ON: with it off, commits acknowledged in
the last few hundred ms vanish when the server is killed, and a kill fault would then
look like a bug of the service under test (seen in tests/harness/faults).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from harness.errors import InfraError
from harness.infra import lifeline, postgres_template, runs
from harness.infra.base import Endpoint
from harness.infra.layout import instance_stem
from harness.infra.ports import free_port
from harness.infra.postgres import can_connect, create_database, postgres_url
from harness.infra.process import ManagedProcess

SUPERUSER = "harness"
# Unix socket paths are limited to 107 bytes; pytest's tmp dirs are often longer.
_SOCKET_PATH_MAX = 107
_SOCKET_NAME_LEN = len("/.s.PGSQL.65535")
# Everything initdb is told besides where and the password: the template cache's key.
_INITDB_OPTIONS = (
    "-U",
    SUPERUSER,
    "--auth-host=scram-sha-256",
    # The socket dir is private to the server user; the TCP port is what the fleet uses,
    # and it needs the password.
    "--auth-local=trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
    "--no-instructions",
    # 1 MB WAL segments instead of 16: the cluster is copied on every boot (see
    # postgres_template), and a fresh 16 MB segment was 40% of what cp copies.
    "--wal-segsize=1",
)
# Line 8 of postmaster.pid: "starting", "ready" or "stopping" (PostgreSQL >= 10).
_PID_FILE_STATUS_LINE = 7
_READY_POLL = 0.01
# Free space a tmpfs needs before a cluster goes there (see _memory_dir).
_MEMORY_DIR_ROOM = 1 << 30
_SPEED_SETTINGS = (
    "fsync=off",
    "full_page_writes=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "shared_buffers=32MB",
    "huge_pages=off",
    "jit=off",
    # A new WAL segment need not be zero-filled first (fsync is off anyway).
    "wal_init_zero=off",
    "max_connections=200",
)


def find_bindir(explicit: str | None = None) -> Path:
    """Directory holding initdb and postgres: the argument (``infra.postgres_bindir``),
    Debian's /usr/lib/postgresql/<newest>/bin, then PATH."""
    tried: list[str] = []
    if explicit:
        if (Path(explicit) / "initdb").is_file():
            return Path(explicit)
        raise InfraError(f"no initdb in {explicit} (infra.postgres_bindir)")
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[4].split(".")],
    )
    tried.append("/usr/lib/postgresql/*/bin")
    if debian:
        return Path(debian[-1]).parent
    on_path = shutil.which("initdb")
    tried.append("initdb on PATH")
    if on_path:
        return Path(on_path).parent
    raise InfraError(
        f"PostgreSQL binaries not found; tried {', '.join(tried)}; "
        "set infra.postgres_bindir (HARNESS_POSTGRES_BINDIR)"
    )


def default_run_as() -> str | None:
    """PostgreSQL refuses to run as root: as root we use the `postgres` system user."""
    return "postgres" if os.geteuid() == 0 else None


class LocalPostgres:
    """One PostgreSQL server on 127.0.0.1, superuser `harness` with a random password."""

    def __init__(
        self,
        name: str,
        root: Path,
        *,
        bindir: Path | None = None,
        run_as: str | None = None,
    ) -> None:
        self.name = name
        self.bindir = bindir or find_bindir()
        self.run_as = run_as
        self.endpoint = Endpoint("127.0.0.1", free_port())
        self.user = SUPERUSER
        uid = _passwd(run_as).pw_uid if run_as is not None else None
        self._template_key = postgres_template.template_key(self.bindir, _INITDB_OPTIONS, uid)
        # A cached initdb result (see harness.infra.postgres_template) fixes the password;
        # else a new one. URL-safe alphabet: the password goes into URLs unquoted.
        self._template = postgres_template.find(self._template_key)
        self.password = self._template.password if self._template else secrets.token_urlsafe(18)
        stem = instance_stem("postgres", name)
        self.log_path = root / f"{stem}.log"
        self._outside_root = False
        self.data_root = self._choose_data_root(root / stem)
        self.data_dir = self.data_root / "data"
        socket_dir = self.data_root / "sock"
        self._socket_dir = (
            socket_dir if len(str(socket_dir)) + _SOCKET_NAME_LEN <= _SOCKET_PATH_MAX else None
        )
        argv = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        argv += ["-p", str(self.endpoint.port), "-k", str(self._socket_dir or "")]
        argv += ["-c", f"listen_addresses={self.endpoint.host}"]
        for setting in _SPEED_SETTINGS:
            argv += ["-c", setting]
        self.process = ManagedProcess(
            name,
            argv,
            env=_server_env(),
            log_path=self.log_path,
            user=run_as,
            stop_signal=signal.SIGINT,
        )

    def start(self, timeout: float = 30.0) -> None:
        """A new cluster (first time only), start the server, wait until it answers queries.

        The cluster is a copy of the cached template when there is one, else initdb makes
        it (and the cache keeps a copy for the next server).
        """
        if not (self.data_dir / "PG_VERSION").exists():
            uid, gid, _ = self._identity()
            self._make_socket_dir(uid, gid)
            if self._template is not None:
                postgres_template.copy_into(self._template, self.data_dir, uid, gid)
            else:
                self._initdb()
                postgres_template.store(self._template_key, self.data_dir, self.password)
        self.process.start()
        self.wait_ready(timeout)

    def _identity(self) -> tuple[int | None, int | None, list[int] | None]:
        if self.run_as is None:
            return None, None, None
        entry = _passwd(self.run_as)
        return entry.pw_uid, entry.pw_gid, os.getgrouplist(self.run_as, entry.pw_gid)

    def _make_socket_dir(self, uid: int | None, gid: int | None) -> None:
        if self._socket_dir is not None:
            self._socket_dir.mkdir(mode=0o700, exist_ok=True)
            if uid is not None and gid is not None:
                os.chown(self._socket_dir, uid, gid)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until a session opens (also after a kill fault: crash recovery runs first)."""
        self.process.wait_until(
            self._accepts_sessions,
            timeout,
            interval=_READY_POLL,
            what=f"PostgreSQL on {self.endpoint.address}",
        )

    def _accepts_sessions(self) -> bool:
        # The server writes its state into postmaster.pid ("ready" once it accepts
        # connections; pg_ctl -w waits on the same line). Reading it costs nothing, while
        # every connection attempt makes the server fork a backend: connect only once it
        # says ready (a stale file of a killed server may say so too; connecting decides).
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return False
        except OSError:
            lines = []  # unreadable (another user's file): connecting decides alone
        if len(lines) > _PID_FILE_STATUS_LINE and lines[_PID_FILE_STATUS_LINE].strip() != "ready":
            return False
        return can_connect(self.url("postgres"))

    def stop(self) -> None:
        self.process.stop(timeout=10.0)

    def remove_data(self) -> None:
        """Delete the cluster; only when the server is down."""
        if not self.process.running:
            shutil.rmtree(self.data_root, ignore_errors=True)
            if self._outside_root:
                runs.current().drop_path(self.data_root)

    def url(self, database: str, endpoint: Endpoint | None = None) -> str:
        return postgres_url(f"{self.user}:{self.password}", endpoint or self.endpoint, database)

    def create_database(self, name: str) -> None:
        create_database(self.url("postgres"), name)

    def _choose_data_root(self, preferred: Path) -> Path:
        root = preferred.parent
        entry = _passwd(self.run_as) if self.run_as is not None else None
        memory = _memory_dir()
        if memory is not None:
            # In memory when the machine has room: copying the template there and deleting
            # the cluster afterwards cost a fraction of what they do on a disk (measured
            # on ext4 here: cp 0.13-0.21 s against 0.5-1.8 s; the removal of a cluster the
            # fleet had written to, 0.3-3.7 s). fsync is off anyway.
            data_root = self._outside(preferred, memory)
        elif entry is None or _can_traverse(root, entry):
            data_root = preferred
            data_root.mkdir(parents=True, exist_ok=False)
        else:
            # e.g. pytest's /tmp/pytest-of-root is 0700: the server user cannot get through
            # it, so the cluster lives in the system temp dir (the log stays in `root`).
            data_root = self._outside(preferred, None)
        if entry is not None:
            os.chown(data_root, entry.pw_uid, entry.pw_gid)
        return data_root

    def _outside(self, preferred: Path, parent: Path | None) -> Path:
        data_root = Path(tempfile.mkdtemp(prefix=f"harness-{preferred.name}-", dir=parent))
        # Not under the fleet's work directory: the run registry must know it too.
        runs.current().add_path(data_root)
        self._outside_root = True
        return data_root

    def _initdb(self) -> None:
        pwfile = self.data_root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        uid, gid, groups = self._identity()
        if uid is not None and gid is not None:
            os.chown(pwfile, uid, gid)
        argv = [
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            f"--pwfile={pwfile}",
            *_INITDB_OPTIONS,
        ]
        try:
            with self.log_path.open("ab") as log:
                log.write(b"--- harness: initdb\n")
                log.flush()
                done = _run_initdb(
                    argv,
                    log,
                    uid=uid,
                    gid=gid,
                    groups=groups,
                )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise InfraError(
                f"{self.name}: initdb failed with code {done.returncode}\n"
                f"--- last lines of {self.log_path} ---\n{self.process.log_tail()}"
            )


def _run_initdb(
    argv: list[str],
    log: IO[bytes],
    *,
    uid: int | None,
    gid: int | None,
    groups: list[int] | None,
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_server_env(),
            user=uid,
            group=gid,
            extra_groups=groups,
            # The calling thread waits for initdb, so it outlives it: see harness.infra.lifeline.
            preexec_fn=lifeline.die_with_parent(),
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        # e.g. the server user may not execute binaries under a private directory
        raise InfraError(f"cannot run {argv[0]}: {exc}") from exc


def _server_env() -> dict[str, str]:
    # A clean environment: PG* variables of the caller must not steer our server.
    return {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C", "TZ": "UTC"}


def _memory_dir() -> Path | None:
    """A writable tmpfs with room to spare for a cluster (/dev/shm), else None.

    Containers often give /dev/shm 64 MB: a cluster (30-100 MB) then stays on disk.
    """
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    if not os.access(shm, os.W_OK | os.X_OK):
        return None
    return shm if stats.f_bavail * stats.f_frsize >= _MEMORY_DIR_ROOM else None


def _passwd(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        raise InfraError(f"no system user {user!r} to run PostgreSQL as") from None


def _can_traverse(path: Path, entry: pwd.struct_passwd) -> bool:
    """Whether `entry`'s user may reach into `path` (search permission on every ancestor)."""
    groups = set(os.getgrouplist(entry.pw_name, entry.pw_gid))
    for directory in (path.resolve(), *path.resolve().parents):
        st = directory.stat()
        if st.st_uid == entry.pw_uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True
