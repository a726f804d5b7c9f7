"""`launch(..., services=[...])`: a fleet of some services and what they need, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import FleetError
from harness.fleet.launch import launch
from harness.fleet.manifest import load_manifest
from harness.fleet.subset import needed_services, only_services
from tests.harness.fleet.conftest import standin_service

SAMPLE = Path(__file__).resolve().parents[3] / "sample_services" / "fleet.yaml"


def test_a_callee_alone_keeps_only_its_own_infra() -> None:
    cut = only_services(load_manifest(SAMPLE), ["inventory"])
    assert set(cut.services) == {"inventory"}
    assert set(cut.infra) == {"postgres"}
    # The source path survives, so services still run from the manifest's root.
    assert cut.root_dir() == load_manifest(SAMPLE).root_dir()


def test_a_caller_brings_what_it_calls_and_depends_on() -> None:
    manifest = load_manifest(SAMPLE)
    assert needed_services(manifest, ["orders"]) == {"orders", "inventory", "payments"}
    assert needed_services(manifest, ["relay"]) == {"relay", "orders", "inventory", "payments"}
    cut = only_services(manifest, ["shipping", "inventory"])
    assert set(cut.services) == {"shipping", "inventory"}
    assert set(cut.infra) == {"postgres", "redis"}


def test_unknown_services_are_named_with_the_known_ones() -> None:
    with pytest.raises(FleetError, match=r"unknown service\(s\) billing .*services: gateway"):
        only_services(load_manifest(SAMPLE), ["billing"])


@pytest.mark.slow
def test_launch_starts_only_the_selected_services(tmp_path: Path) -> None:
    manifest = tmp_path / "fleet.yaml"
    import yaml

    manifest.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": "subset",
                "services": {
                    "a": standin_service("a", calls={"b": {"env": "CALLEE_URL"}}),
                    "b": standin_service("b"),
                    "c": standin_service("c"),
                },
            }
        )
    )
    with launch(manifest, proxied=False, temp_parent=tmp_path, services=["a"]) as fleet:
        assert set(fleet.services) == {"a", "b"}
        assert fleet.is_ready("a")
        assert fleet.is_ready("b")
