"""make_provider: the provider named in configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import InfraConfig
from harness.errors import HarnessError
from harness.infra.external import ExternalProvider
from harness.infra.local import LocalProvider
from harness.infra.providers import make_provider


def test_local(tmp_path: Path) -> None:
    provider = make_provider("local", tmp_path, infra=InfraConfig(toxiproxy_seed=7))
    try:
        assert isinstance(provider, LocalProvider)
        assert provider.root.parent == tmp_path
    finally:
        provider.close()


def test_external_from_urls(tmp_path: Path) -> None:
    provider = make_provider("external", tmp_path, urls={"redis": "redis://h:1/0"})
    assert isinstance(provider, ExternalProvider)
    assert provider.redis().url() == "redis://h:1/0"


def test_an_unknown_kind_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        HarnessError, match="unknown infra provider 'k8s'; choose one of local, docker, external"
    ):
        make_provider("k8s", tmp_path)
