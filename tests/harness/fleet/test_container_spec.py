"""The manifest's container fields and the docker backend's choices, without an engine: what
is refused before anything starts, what a service runs, and the generated Dockerfile."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import ConfigError, load_config
from harness.errors import InputError, ManifestError
from harness.fleet.containers import ContainerBackend, container_command, image_of
from harness.fleet.launch import launch
from harness.fleet.manifest import load_manifest

from .conftest import WriteManifest

ROOT = Path(__file__).resolve().parents[3]

WITH_IMAGES = """\
version: 1
containers:
  image: acme/services:1
  build: {project: ., extras: [svc], copy: [src]}
services:
  api: {module: acme.api}
  worker: {image: acme/worker:2}
  tool: {image: acme/tool:3, command: run --fast}
"""


def test_images_and_build_are_data(write_manifest: WriteManifest) -> None:
    manifest = load_manifest(write_manifest(WITH_IMAGES))
    assert manifest.containers is not None
    build = manifest.containers.build
    assert build is not None
    assert build.base == "harness-local/bookworm-base:latest"
    assert build.extras == ["svc"]
    assert build.copy_dirs == ["src"]
    assert image_of(manifest, "api") == "acme/services:1"
    assert image_of(manifest, "worker") == "acme/worker:2"
    # A module runs with the image's python; an image alone runs its own command.
    assert container_command(manifest.services["api"]) == ["python", "-m", "acme.api"]
    assert container_command(manifest.services["worker"]) is None
    assert container_command(manifest.services["tool"]) == ["run", "--fast"]


def test_a_service_needs_a_command_a_module_or_an_image(write_manifest: WriteManifest) -> None:
    path = write_manifest("version: 1\nservices:\n  api: {env: {A: '1'}}\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert f"{path}:3: services.api: missing command" in str(caught.value)


def test_an_unknown_build_field_is_named(write_manifest: WriteManifest) -> None:
    path = write_manifest(
        "version: 1\ncontainers: {image: a/b:1, build: {projekt: .}}\n"
        "services:\n  api: {module: a}\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert "containers.build.projekt" in str(caught.value)


def test_a_service_without_any_image_is_refused_before_anything_starts(
    write_manifest: WriteManifest,
) -> None:
    manifest = load_manifest(write_manifest("version: 1\nservices:\n  api: {module: a}\n"))
    with pytest.raises(InputError, match="service api has no `image:`"):
        ContainerBackend(manifest)
    with pytest.raises(InputError, match="service api has no `image:`"):
        launch(manifest, fleet_backend="docker")


def test_an_image_only_service_needs_the_docker_backend(write_manifest: WriteManifest) -> None:
    manifest = load_manifest(write_manifest(WITH_IMAGES))
    with pytest.raises(InputError, match="service worker has only an image"):
        launch(manifest)


def test_the_backend_is_configuration(tmp_path: Path) -> None:
    assert load_config(start=tmp_path, environ={}).fleet_backend == "process"
    chosen = load_config(start=tmp_path, environ={"HARNESS_FLEET_BACKEND": "docker"})
    assert chosen.fleet_backend == "docker"
    assert chosen.sources["fleet_backend"] == "environment"
    with pytest.raises(ConfigError, match="fleet_backend"):
        load_config(start=tmp_path, environ={"HARNESS_FLEET_BACKEND": "podman"})


def test_the_sample_image_is_built_from_the_wheel_without_network() -> None:
    from harness.fleet.images import _dockerfile

    manifest = load_manifest(ROOT / "sample_services" / "fleet.yaml")
    assert manifest.containers is not None
    text = _dockerfile(manifest.containers, Path("harness-0.1.0-py3-none-any.whl"))
    assert text.startswith("FROM harness-local/bookworm-base:latest\n")
    assert "pip install --no-index --find-links /tmp/wheelhouse" in text
    assert "'harness[sample]'" in text
    assert "COPY app /app" in text
