"""Where the broker-less matrix is kept: git notes on the commit verified, never in the tree.

Each commit that was verified carries one note on ``refs/notes/harness-contracts`` (the
``matrix`` ref of ``contracts.yaml``): the JSON document of :class:`Matrix` with every
verification recorded while that commit was HEAD, clean (version ``<commit>``) or with
uncommitted changes (``<commit>+dirty.<tree>``), or under a ``HARNESS_VERSION`` label.
Writing a note touches neither the work tree nor the index, so recording a verification
cannot change the version it is recorded under, and a test run leaves ``git status`` as
it found it. Notes travel with the repository on request (``git push origin
refs/notes/harness-contracts``, ``git fetch origin
refs/notes/harness-contracts:refs/notes/harness-contracts``); CI on main pushes them and
pull requests fetch them, so everyone sees main's verifications keyed by main's commits.

Recording upserts by row key under a lock in the git directory, and writes a note only
when its content changed: a re-run of the same verification adds no notes commit.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.contracts.errors import ContractError
from harness.contracts.matrix import Matrix, MatrixRow

DEFAULT_REF = "refs/notes/harness-contracts"
_TIMEOUT_S = 30
# Versions this harness writes itself: a commit, perhaps with the uncommitted tree after it.
_COMMIT_VERSION = re.compile(r"^(?P<commit>[0-9a-f]{7,40})(?:\+.*)?$")
# Notes commits need an author; a CI checkout often has none configured.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "harness",
    "GIT_AUTHOR_EMAIL": "harness@localhost",
    "GIT_COMMITTER_NAME": "harness",
    "GIT_COMMITTER_EMAIL": "harness@localhost",
}


class MatrixStoreError(ContractError):
    """The matrix cannot be read or written (no git repository, git failed)."""


@dataclass(frozen=True)
class Recorded:
    """What :meth:`MatrixNotes.record` did: the rows as stored, on which commit."""

    commit: str
    ref: str
    rows: tuple[MatrixRow, ...]
    written: bool

    def describe(self) -> str:
        what = "recorded" if self.written else "already recorded"
        return f"{len(self.rows)} verification(s) {what} in {self.ref} on {self.commit[:12]}"


@dataclass(frozen=True)
class MatrixNotes:
    """The matrix of the git repository around ``root``, in the notes ref ``ref``."""

    root: Path
    ref: str = DEFAULT_REF

    @classmethod
    def open(cls, root: Path, ref: str = DEFAULT_REF) -> MatrixNotes:
        """The store of ``root``'s repository; :class:`MatrixStoreError` outside one."""
        store = cls(root, ref)
        try:
            store._git("rev-parse", "--git-dir")
        except MatrixStoreError:
            raise MatrixStoreError(
                f"{root} is not in a git repository: without a Pact Broker "
                f"(PACT_BROKER_BASE_URL) the verification matrix is kept in git notes ({ref})"
            ) from None
        return store

    # --- reading -----------------------------------------------------------------------

    def notes(self) -> dict[str, str]:
        """Annotated commit -> note blob, for every note of the ref (empty if none yet)."""
        if self._git_or_none("rev-parse", "-q", "--verify", self.ref) is None:
            return {}
        listing = self._git("notes", "--ref", self.ref, "list")
        pairs = (line.split() for line in listing.splitlines() if line.strip())
        return {annotated: blob for blob, annotated in pairs}

    def matrix(self, version: str | None = None) -> Matrix:
        """The rows that can answer for ``version`` (every row when None).

        A version this harness wrote names its commit, so that commit's note is read (found
        by prefix in the notes list: the commit itself need not have been fetched). A label
        from ``HARNESS_VERSION`` may sit on any commit, so every note is read; so is every
        note when the commit's holds no row of ``version`` (a label that looks like hex).
        """
        notes = self.notes()
        found = _COMMIT_VERSION.match(version or "")
        if found:
            prefix = found["commit"]
            mine = self._read([blob for commit, blob in notes.items() if commit.startswith(prefix)])
            if any(version in (r.consumer_version, r.provider_version) for r in mine.rows):
                return mine
        return self._read(list(notes.values()))

    def note(self, commit: str) -> Matrix:
        """The rows recorded on ``commit`` (a full id)."""
        blob = self._git_or_none("notes", "--ref", self.ref, "list", commit)
        return self._read([blob]) if blob else Matrix()

    def _read(self, blobs: list[str]) -> Matrix:
        """The rows of these note blobs, read by one ``git cat-file --batch``."""
        if not blobs:
            return Matrix()
        try:
            done = subprocess.run(
                ["git", "cat-file", "--batch"],
                cwd=self.root,
                input="".join(f"{blob}\n" for blob in blobs).encode(),
                capture_output=True,
                timeout=_TIMEOUT_S,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise MatrixStoreError(f"git cat-file: cannot read {self.ref}: {exc}") from exc
        rows: list[MatrixRow] = []
        out, at = done.stdout, 0
        for blob in blobs:
            # Each object comes as "<id> <type> <size>\n<content>\n".
            end = out.index(b"\n", at)
            header = out[at:end].decode().split()
            if len(header) != 3:
                raise MatrixStoreError(f"{self.ref}: note {blob[:12]} is missing")
            size = int(header[2])
            text = out[end + 1 : end + 1 + size].decode("utf-8", "replace")
            at = end + 1 + size + 1
            rows += Matrix.from_document(text, f"{self.ref} (note {blob[:12]})").rows
        return Matrix(rows)

    # --- writing -----------------------------------------------------------------------

    def record(self, rows: Iterable[MatrixRow], commit: str | None = None) -> Recorded:
        """Upsert ``rows`` into the note of ``commit`` (HEAD by default)."""
        rows = list(rows)
        target = commit or self._git_or_none("rev-parse", "--verify", "-q", "HEAD^{commit}")
        if not target:
            raise MatrixStoreError(f"{self.root}: no commit to note the verifications on")
        with self._locked():
            matrix = self.note(target)
            before = matrix.document()
            stored = tuple(matrix.record(row) for row in rows)
            text = matrix.document()
            if text == before:
                return Recorded(target, self.ref, stored, written=False)
            blob = self._git("hash-object", "-w", "--stdin", stdin=text)
            # -C takes the blob as it is (-m/-F would reformat the message).
            self._git("notes", "--ref", self.ref, "add", "-f", "-C", blob, target, identity=True)
        return Recorded(target, self.ref, stored, written=True)

    # --- git ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time per repository (two test runs may finish together)."""
        common = Path(self._git("rev-parse", "--path-format=absolute", "--git-common-dir"))
        path = common / "harness-contracts.lock"
        try:
            lock = open(path, "a")  # noqa: SIM115 - held across the yield, closed below
        except OSError as exc:
            raise MatrixStoreError(f"cannot lock {path}: {exc}") from exc
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _git_or_none(self, *args: str) -> str | None:
        try:
            return self._git(*args)
        except MatrixStoreError:
            return None

    def _git(self, *args: str, stdin: str | None = None, identity: bool = False) -> str:
        env: Mapping[str, str] | None = None
        if identity:
            env = {**_IDENTITY, **os.environ}
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.root,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
                check=False,
                env=env,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MatrixStoreError(f"git {args[0]}: {exc}") from exc
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip()
            raise MatrixStoreError(f"git {' '.join(args[:3])} failed in {self.root}: {detail}")
        return done.stdout.strip()
