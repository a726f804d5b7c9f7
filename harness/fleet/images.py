"""Build a fleet's service image offline, as its manifest's ``containers.build`` says.

Steps (see :mod:`harness.fleet.container_spec` for the fields):

1. a wheel of the project (``pip wheel --no-deps``, on the host);
2. the content hash of everything the image is made of: the base image's id, the wheel's
   RECORD and METADATA (file hashes and dependencies), the extras, every copied file and the
   Dockerfile. An image with that hash in its ``org.harness.content-hash`` label is up to
   date: a cached build costs the wheel and a hash (seconds);
3. otherwise a wheelhouse of the wheel's dependencies (``pip wheel`` on the host, which may
   use the package index and pip's cache), and ``docker build`` with the build's network
   off: inside, ``pip install --no-index --find-links`` installs from the wheelhouse alone.

pip evaluates environment markers against the interpreter it runs in, never a target
(``pip download --python-version`` changes tags, not markers: redis needs async-timeout on
Python < 3.11.3 only), so the wheelhouse is made by a host interpreter of the base image's
exact Python version (asked of the image once): ``containers.build.wheel_python``, else the
harness's own, else ``pythonX.Y`` on PATH or in /usr/bin, /usr/local/bin.

The base image is not built here: it is a Debian root filesystem that needs root, apt and
debootstrap (``.ci/install-docker`` makes ``harness-local/bookworm-base``); a missing base
is an error that says so.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from docker.errors import DockerException as DockerError
from docker.errors import NotFound

from harness.errors import FleetError
from harness.fleet.container_spec import ContainerBuild, ContainersSpec
from harness.fleet.manifest import Manifest
from harness.infra.docker_engine import docker_client as client

__all__ = ["BuiltImage", "ensure_image"]

log = logging.getLogger(__name__)

HASH_LABEL = "org.harness.content-hash"
_RECIPE = "harness-service-image-1"
_VENV = "/opt/fleet"
_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    content_hash: str
    cached: bool
    seconds: float
    # Where the time went: "wheel", "wheelhouse", "docker build".
    timings: dict[str, float]


def ensure_image(manifest: Manifest, *, force: bool = False) -> BuiltImage | None:
    """Make the manifest's ``containers.image`` exist and be current; None if nothing to
    build (no ``containers.build``: the image is the user's, pulled or built elsewhere)."""
    spec = manifest.containers
    if spec is None or spec.build is None:
        return None
    began = time.monotonic()
    timings: dict[str, float] = {}
    root = manifest.root_dir()
    with tempfile.TemporaryDirectory(prefix="harness-image-") as scratch:
        context = Path(scratch)
        step = time.monotonic()
        wheel = _project_wheel(root / spec.build.project, context / "wheelhouse")
        timings["wheel"] = time.monotonic() - step
        dockerfile = _dockerfile(spec, wheel)
        base_id = _base_id(spec.build.base)
        digest = _content_hash(base_id, wheel, spec.build, root, dockerfile)
        if not force and _label_of(spec.image) == digest:
            return BuiltImage(spec.image, digest, True, time.monotonic() - began, timings)
        step = time.monotonic()
        python = _wheel_python(spec.build, base_id)
        _wheelhouse(python, wheel, spec.build.extras, context / "wheelhouse")
        timings["wheelhouse"] = time.monotonic() - step
        for name in spec.build.copy_dirs:
            shutil.copytree(
                root / name,
                context / "app" / name,
                ignore=shutil.ignore_patterns(*_SKIP, "*.pyc"),
            )
        (context / "app").mkdir(exist_ok=True)
        (context / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        step = time.monotonic()
        _docker_build(context, spec.image, digest)
        timings["docker build"] = time.monotonic() - step
    return BuiltImage(spec.image, digest, False, time.monotonic() - began, timings)


def _project_wheel(project: Path, into: Path) -> Path:
    if not (project / "pyproject.toml").is_file() and not (project / "setup.py").is_file():
        raise FleetError(f"containers.build.project: {project} is not a Python project")
    into.mkdir(parents=True, exist_ok=True)
    _pip(sys.executable, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(into), str(project))
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise FleetError(f"pip wheel of {project} made {len(wheels)} wheels, expected 1")
    return wheels[0]


def _wheelhouse(python: str, wheel: Path, extras: list[str], into: Path) -> None:
    # The wheel's own dependencies (and its extras'), as wheels for the image's Python.
    requirement = f"{wheel}[{','.join(extras)}]" if extras else str(wheel)
    _pip(python, "wheel", "--quiet", "--wheel-dir", str(into), requirement)


@functools.cache
def _image_python(base_id: str, python: str) -> str:
    """The full Python version of ``python`` in image ``base_id`` (e.g. 3.11.2)."""
    script = "import platform; print(platform.python_version())"
    try:
        out = client().containers.run(
            base_id, [python, "-c", script], remove=True, network_mode="none"
        )
    except DockerError as exc:
        raise FleetError(f"cannot run {python} in the base image: {exc}") from exc
    return bytes(out).decode().strip()


def _host_version(python: str) -> str | None:
    script = "import platform; print(platform.python_version())"
    try:
        done = subprocess.run(
            [python, "-c", script], capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _wheel_python(build: ContainerBuild, base_id: str) -> str:
    wanted = _image_python(base_id, build.python)
    minor = ".".join(wanted.split(".")[:2])
    if build.wheel_python is not None:
        found = _host_version(build.wheel_python)
        if found != wanted:
            raise FleetError(
                f"containers.build.wheel_python: {build.wheel_python} is Python {found}, "
                f"the base image's is {wanted}"
            )
        return build.wheel_python
    candidates = [sys.executable]
    for name in (f"python{minor}", f"/usr/bin/python{minor}", f"/usr/local/bin/python{minor}"):
        located = shutil.which(name)
        if located is not None:
            candidates.append(located)
    versions = {candidate: _host_version(candidate) for candidate in candidates}
    for candidate, version in versions.items():
        if version == wanted:
            return candidate
    for candidate, version in versions.items():
        if version is not None and version.startswith(minor + "."):
            log.warning(
                "no host Python %s for the wheelhouse; using %s (%s): dependencies with "
                "markers on the exact version may be missed",
                wanted,
                candidate,
                version,
            )
            return candidate
    raise FleetError(
        f"the base image runs Python {wanted}: the wheelhouse needs a host Python {minor} "
        "(set containers.build.wheel_python)"
    )


def _pip(python: str, *args: str) -> None:
    argv = [python, "-m", "pip", "--disable-pip-version-check", *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
        raise FleetError(f"{' '.join(argv[2:5])} ... failed:\n{tail}")


def _dockerfile(spec: ContainersSpec, wheel: Path) -> str:
    build = spec.build
    assert build is not None
    project = wheel.name.split("-")[0]
    requirement = f"{project}[{','.join(build.extras)}]" if build.extras else project
    return "\n".join(
        [
            f"FROM {build.base}",
            "COPY wheelhouse /tmp/wheelhouse",
            # No network here: the build runs with networking off, pip installs the wheelhouse.
            f"RUN {build.python} -m venv {_VENV} \\",
            f"  && {_VENV}/bin/pip install --no-index --find-links /tmp/wheelhouse "
            f"--no-cache-dir --disable-pip-version-check '{requirement}' \\",
            "  && rm -rf /tmp/wheelhouse",
            f"COPY app {spec.workdir}",
            # Compiled once here: each start would compile them again (the image is read-only
            # to it in spirit, and a fleet's services start at once on a busy machine).
            f"RUN {_VENV}/bin/python -m compileall -q {spec.workdir}",
            f"WORKDIR {spec.workdir}",
            f"ENV PATH={_VENV}/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1",
            "",
        ]
    )


def _base_id(base: str) -> str:
    try:
        return str(client().images.get(base).id)
    except NotFound:
        raise FleetError(
            f"containers.build.base: no image {base} on this Docker engine; "
            "`.ci/install-docker` builds harness-local/bookworm-base offline"
        ) from None
    except DockerError as exc:
        raise FleetError(f"cannot inspect image {base}: {exc}") from exc


def _label_of(tag: str) -> str | None:
    try:
        labels = client().images.get(tag).labels or {}
    except NotFound:
        return None
    except DockerError:
        return None
    return labels.get(HASH_LABEL)


def _content_hash(
    base_id: str, wheel: Path, build: ContainerBuild, root: Path, dockerfile: str
) -> str:
    digest = hashlib.sha256()
    for part in (_RECIPE, base_id, ",".join(sorted(build.extras)), dockerfile):
        digest.update(part.encode() + b"\0")
    # RECORD lists every file of the wheel with its hash; METADATA's headers its version and
    # dependencies (its body is the README: no reason to rebuild). The wheel file itself is
    # not stable (zip timestamps).
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith(".dist-info/RECORD"):
                digest.update(name.encode() + b"\0" + _without_metadata(archive.read(name)))
            elif name.endswith(".dist-info/METADATA"):
                headers = archive.read(name).split(b"\n\n", 1)[0]
                digest.update(name.encode() + b"\0" + headers)
    for name in build.copy_dirs:
        top = root / name
        if not top.is_dir():
            raise FleetError(f"containers.build.copy: {top} is not a directory")
        for path in sorted(top.rglob("*")):
            if path.is_file() and not (_SKIP & set(path.parts)) and path.suffix != ".pyc":
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def _without_metadata(record: bytes) -> bytes:
    # RECORD holds METADATA's own hash, which changes with the README.
    return b"\n".join(line for line in record.splitlines() if b".dist-info/METADATA," not in line)


def _docker_build(context: Path, tag: str, digest: str) -> None:
    engine = client()
    try:
        # The legacy builder (no buildx here); network off: the wheelhouse is all there is.
        _, output = engine.images.build(
            path=str(context),
            tag=tag,
            labels={HASH_LABEL: digest},
            network_mode="none",
            rm=True,
            forcerm=True,
        )
        for chunk in output:
            if isinstance(chunk, dict) and chunk.get("stream"):
                log.debug("docker build %s: %s", tag, str(chunk["stream"]).rstrip())
    except DockerError as exc:
        buffer = io.StringIO()
        for chunk in getattr(exc, "build_log", []) or []:
            if isinstance(chunk, dict) and chunk.get("stream"):
                buffer.write(str(chunk["stream"]))
        tail = "\n".join(buffer.getvalue().splitlines()[-15:])
        raise FleetError(f"docker build of {tag} failed: {exc}\n{tail}") from exc
