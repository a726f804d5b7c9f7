"""The matrix in git notes: a run leaves the tree as it found it, and can-i-deploy says yes.

Real git repositories in temporary directories (and a clone, as a pull request's checkout
is), the rows written through the core API; the pytest path with a real provider is in
``test_breakage.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.contracts.matrix import MatrixRow, row_for
from harness.contracts.matrix_notes import DEFAULT_REF, MatrixNotes, MatrixStoreError
from harness.contracts.pactfile import PactFile, read_pact
from harness.contracts.versions import current_version
from tests.harness.contracts.conftest import (
    ROOT,
    commit_all,
    git,
    http_interaction,
    pact_document,
    write_pact,
)

runner = CliRunner()
NOTES_SCRIPT = ROOT / ".ci" / "contract-notes"


def _project(path: Path) -> Path:
    """A project (the sample manifest's services, never started here) with one pact."""
    manifest = yaml.safe_load((ROOT / "sample_services" / "fleet.yaml").read_text())
    manifest["root"] = str(ROOT)
    path.mkdir(parents=True, exist_ok=True)
    (path / "fleet.yaml").write_text(yaml.safe_dump(manifest))
    (path / "pyproject.toml").write_text('[tool.harness]\nmanifest = "fleet.yaml"\n')
    write_pact(
        path / "contracts" / "pacts",
        pact_document("gateway", "inventory", http_interaction("stock", path="/stock/S")),
    )
    return path


def _pact(project: Path) -> PactFile:
    return read_pact(project / "contracts" / "pacts" / "gateway-inventory.json")


def _row(project: Path, version: str, failed: tuple[str, ...] = ()) -> MatrixRow:
    return row_for(
        _pact(project),
        consumer_version=version,
        provider_version=version,
        failed=failed,
        pending_failed=[],
        interactions=1,
    )


def _can_i_deploy(project: Path, service: str, *args: str) -> tuple[int, str]:
    cwd = Path.cwd()
    os.chdir(project)
    try:
        result = runner.invoke(app, ["can-i-deploy", service, *args])
    finally:
        os.chdir(cwd)
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def _no_outside_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_VERSION", raising=False)
    monkeypatch.delenv("PACT_BROKER_BASE_URL", raising=False)


def test_a_recorded_verification_leaves_the_tree_clean_and_can_i_deploy_says_yes(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "repo")
    commit_all(project)
    version = current_version(project)
    assert "+" not in version
    assert _can_i_deploy(project, "inventory")[0] == 1

    recorded = MatrixNotes.open(project).record([_row(project, version)])

    assert recorded.written
    assert git(project, "status", "--porcelain") == ""
    assert current_version(project) == version
    code, output = _can_i_deploy(project, "inventory")
    assert code == 0, output
    assert f"inventory @ {version}: deployable" in output
    assert _can_i_deploy(project, "gateway")[0] == 0
    # The note sits on the commit, for anyone reading the history.
    assert "gateway" in git(project, "log", "-1", f"--notes={DEFAULT_REF}")


def test_recording_again_upserts_and_writes_no_new_note(tmp_path: Path) -> None:
    project = _project(tmp_path / "repo")
    commit = commit_all(project)
    store = MatrixNotes.open(project)
    version = current_version(project)
    row = _row(project, version)
    assert store.record([row]).written
    notes_commit = git(project, "rev-parse", DEFAULT_REF)

    again = store.record([_row(project, version)])

    assert not again.written
    assert again.rows == (row,)  # the first time is kept: nothing changed
    assert git(project, "rev-parse", DEFAULT_REF) == notes_commit
    failed = store.record([_row(project, version, failed=("stock",))])
    assert failed.written
    [stored] = store.note(commit).rows
    assert stored.failed == ("stock",)
    assert _can_i_deploy(project, "inventory")[0] == 1


def test_a_dirty_tree_is_its_own_version_and_answers_for_the_same_content(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "repo")
    commit_all(project)
    clean = current_version(project)
    fleet = project / "fleet.yaml"
    original = fleet.read_text()
    fleet.write_text(original + "# changed\n")

    dirty = current_version(project)

    assert dirty.startswith(f"{clean}+dirty.")
    MatrixNotes.open(project).record([_row(project, dirty)])
    assert current_version(project) == dirty  # writing the row changed nothing
    assert _can_i_deploy(project, "inventory")[0] == 0
    git(project, "add", "fleet.yaml")  # staged or not, the same content
    assert current_version(project) == dirty
    fleet.write_text(original + "# changed again\n")
    other = current_version(project)
    assert other.startswith(f"{clean}+dirty.")
    assert other != dirty
    assert _can_i_deploy(project, "inventory")[0] == 1
    fleet.write_text(original)
    git(project, "add", "fleet.yaml")
    assert current_version(project) == clean
    assert _can_i_deploy(project, "inventory")[0] == 1  # the commit itself was never verified


def test_a_clone_sees_the_verifications_once_it_fetches_the_notes(tmp_path: Path) -> None:
    main = _project(tmp_path / "main")
    commit_all(main)
    MatrixNotes.open(main).record([_row(main, current_version(main))])
    clone = tmp_path / "pull-request"
    git(tmp_path, "clone", "-q", str(main), str(clone))
    # A plain clone does not fetch notes: the verifications are not there yet.
    assert _can_i_deploy(clone, "inventory")[0] == 1

    git(clone, "fetch", "-q", "origin", f"{DEFAULT_REF}:{DEFAULT_REF}")

    assert _can_i_deploy(clone, "inventory")[0] == 0
    assert git(clone, "status", "--porcelain") == ""


def test_a_harness_version_label_is_found_on_whichever_commit_holds_it(tmp_path: Path) -> None:
    project = _project(tmp_path / "repo")
    commit_all(project)
    MatrixNotes.open(project).record([_row(project, "build-7")])
    commit_all(project, "another commit")
    # A build number looks like a commit prefix; it is still found where it was recorded.
    MatrixNotes.open(project).record([_row(project, "20261203")])
    assert len(MatrixNotes.open(project).notes()) == 2
    assert _can_i_deploy(project, "inventory", "--version", "build-7")[0] == 0
    assert _can_i_deploy(project, "inventory", "--version", "20261203")[0] == 0
    assert _can_i_deploy(project, "inventory", "--version", "build-8")[0] == 1
    assert {r.provider_version for r in MatrixNotes.open(project).matrix().rows} == {
        "build-7",
        "20261203",
    }


def test_writers_at_the_same_time_lose_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path / "repo")
    commit = commit_all(project)
    store = MatrixNotes.open(project)
    versions = [f"label-{n}" for n in range(4)]
    start = threading.Barrier(len(versions))
    errors: list[BaseException] = []

    def write(version: str) -> None:
        try:
            start.wait(timeout=30)
            store.record([_row(project, version)])
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(r.provider_version for r in store.note(commit).rows) == versions


def test_outside_a_git_repository_nothing_is_recorded_and_can_i_deploy_says_why(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "plain")
    with pytest.raises(MatrixStoreError, match="not in a git repository"):
        MatrixNotes.open(project)
    code, output = _can_i_deploy(project, "inventory")
    assert code == 2
    assert "not in a git repository" in output


def _notes_script(action: str, repo: Path) -> None:
    done = subprocess.run(
        ["bash", str(NOTES_SCRIPT), action, str(repo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="the CI script is bash")
def test_ci_publishes_notes_merged_with_others_and_a_fetch_keeps_local_ones(
    tmp_path: Path,
) -> None:
    origin = tmp_path / "origin.git"
    seed = _project(tmp_path / "seed")
    commit_all(seed)
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(origin))
    one, two, reader = tmp_path / "one", tmp_path / "two", tmp_path / "reader"
    for clone in (one, two, reader):
        git(tmp_path, "clone", "-q", str(origin), str(clone))
    # Two main runs, each with its own commit and verification, publishing one after the
    # other: the second one's push is not a fast-forward of the first one's notes.
    for clone in (one, two):
        (clone / clone.name).write_text(clone.name)
        commit_all(clone, clone.name)
        MatrixNotes.open(clone).record([_row(clone, current_version(clone))])
    for clone in (one, two):
        _notes_script("publish", clone)
    # A developer's clone with a verification of its own fetches main's.
    MatrixNotes.open(reader).record([_row(reader, current_version(reader))])

    _notes_script("fetch", reader)

    annotated = set(MatrixNotes.open(reader).notes())
    assert annotated == {git(c, "rev-parse", "HEAD") for c in (one, two, reader)}
    assert git(reader, "status", "--porcelain") == ""
