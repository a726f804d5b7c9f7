"""How a fleet's services run as containers: the manifest's ``containers`` section, as data.

With the docker fleet backend (``fleet_backend = "docker"``) a service that names its own
``image:`` runs that image (its ``command``, else the image's own); a service given by
``module``/``command`` without an image runs in the fleet's image, named here. When
``build`` is given, the harness builds that image itself (:mod:`harness.fleet.images`): a
wheel of the Python project at ``project`` with its ``extras``, installed from a wheelhouse
made on the host (no network inside the build), plus the ``copy`` directories, on top of
``base``. Paths are relative to the manifest's ``root``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ContainerBuild", "ContainersSpec"]

# The Debian root filesystem .ci/install-docker builds offline (debootstrap + docker import).
DEFAULT_BASE = "harness-local/bookworm-base:latest"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContainerBuild(_Strict):
    base: str = Field(default=DEFAULT_BASE, min_length=1)
    project: str = Field(default=".", description="a Python project, built into a wheel")
    extras: list[str] = Field(default_factory=list)
    copy_dirs: list[str] = Field(
        default_factory=list,
        alias="copy",
        description="directories copied into the image's working directory",
    )
    # The interpreter the base image has (a venv is made with it).
    python: str = "python3"
    # The host interpreter that makes the wheelhouse: the base image's exact Python version
    # (pip evaluates markers against the interpreter it runs in). None: found by version.
    wheel_python: str | None = None


class ContainersSpec(_Strict):
    image: str = Field(min_length=1, description="the image module/command services run in")
    build: ContainerBuild | None = None
    # Where services run in the image (the copied directories are there).
    workdir: str = "/app"
