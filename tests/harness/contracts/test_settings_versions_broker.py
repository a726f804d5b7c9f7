"""contracts.yaml, the recorded version, and the Pact Broker path (as far as this machine
allows: no broker can run here, so command lines, the CLI itself and its failure)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from harness.config import load_config
from harness.contracts.broker import (
    Broker,
    broker_from_env,
    can_i_deploy_command,
    pact_cli,
    publish,
    publish_command,
)
from harness.contracts.errors import BrokerError, ContractsFileError
from harness.contracts.settings import load_settings
from harness.contracts.versions import current_version
from harness.errors import ConfigError
from harness.infra.ports import free_port
from tests.harness.contracts.conftest import ROOT


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.pacts == tmp_path / "contracts" / "pacts"
    assert settings.baseline("orders") == tmp_path / "contracts" / "openapi" / "orders.json"
    assert settings.source is None


def test_the_repository_names_the_orders_producers() -> None:
    settings = load_settings(ROOT)
    assert settings.messages == {"orders": "contracts.producers:ORDERS"}
    assert settings.matrix == "refs/notes/harness-contracts"


def test_a_bad_file_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "contracts" / "contracts.yaml"
    path.parent.mkdir()
    path.write_text("version: 1\npacts: pacts\nmessages:\n  orders: not a reference\n")
    with pytest.raises(ContractsFileError) as caught:
        load_settings(tmp_path)
    assert str(caught.value).startswith(f"{path}:4: messages.orders:")


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ContractsFileError, match="file not found"):
        load_settings(tmp_path, tmp_path / "x.yaml", required=True)


def test_the_version_is_the_commit_and_says_when_the_tree_is_dirty(tmp_path: Path) -> None:
    assert current_version(tmp_path, "build-7") == "build-7"
    assert current_version(tmp_path) == "unknown"
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "f").write_text("1")
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    sha = current_version(tmp_path)
    assert len(sha) == 12
    (tmp_path / "f").write_text("2")
    dirty = current_version(tmp_path)
    assert dirty.startswith(f"{sha}+dirty.")
    # The suffix is the tree of the work tree's content: git's own id of it, once committed.
    subprocess.run([*git, "commit", "-q", "-am", "two"], check=True)
    tree = subprocess.run(
        [*git, "rev-parse", "HEAD^{tree}"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert dirty == f"{sha}+dirty.{tree[:12]}"


def test_the_matrix_is_a_notes_ref_not_a_file(tmp_path: Path) -> None:
    path = tmp_path / "contracts" / "contracts.yaml"
    path.parent.mkdir()
    path.write_text("version: 1\nmatrix: matrix.json\n")
    with pytest.raises(ContractsFileError) as caught:
        load_settings(tmp_path)
    assert str(caught.value).startswith(f"{path}:2: matrix:")
    assert "git notes ref" in str(caught.value)
    path.write_text("version: 1\nmatrix: refs/notes/ci/contracts\n")
    assert load_settings(tmp_path).matrix == "refs/notes/ci/contracts"


def test_the_broker_comes_from_the_environment() -> None:
    assert broker_from_env({}) is None
    broker = broker_from_env({"PACT_BROKER_BASE_URL": "http://b/", "PACT_BROKER_TOKEN": "t"})
    assert broker == Broker("http://b", 2, "t", None, None)
    assert broker_from_env({"PACT_BROKER_BASE_URL": "http://b"}, retries=5) == Broker(
        "http://b", 5, None, None, None
    )


def test_broker_retries_come_from_the_configuration(tmp_path: Path) -> None:
    config = load_config(start=tmp_path, environ={"HARNESS_BROKER_RETRIES": "5"})
    assert config.contracts.broker_retries == 5
    with pytest.raises(ConfigError, match=r"environment: contracts\.broker_retries"):
        load_config(start=tmp_path, environ={"HARNESS_BROKER_RETRIES": "x"})


def test_command_lines_never_carry_credentials(tmp_path: Path) -> None:
    broker = Broker("http://broker.test", retries=1, token="secret")
    publish_line = publish_command(broker, tmp_path, "abc123", "main")
    assert publish_line[1:] == [
        "broker",
        "publish",
        str(tmp_path),
        "--consumer-app-version",
        "abc123",
        "--broker-base-url",
        "http://broker.test",
        "--retries",
        "1",
        "--branch",
        "main",
    ]
    deploy = can_i_deploy_command(broker, "orders", "abc123", "production")
    assert deploy[1:4] == ["broker", "can-i-deploy", "--pacticipant"]
    assert deploy[-2:] == ["--to-environment", "production"]
    assert "--latest" in can_i_deploy_command(broker, "orders", "abc123")
    assert all("secret" not in part for part in publish_line + deploy)


@pytest.mark.slow
def test_the_pact_cli_is_installed_and_knows_its_commands() -> None:
    done = subprocess.run(
        [pact_cli(), "broker", "publish", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    for option in ("--consumer-app-version", "--branch", "--broker-base-url", "--retries"):
        assert option in done.stdout
    done = subprocess.run(
        [pact_cli(), "broker", "can-i-deploy", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "--to-environment" in done.stdout


@pytest.mark.slow
def test_an_unreachable_broker_fails_fast_with_its_address(tmp_path: Path) -> None:
    port = free_port("127.0.0.1")  # nothing listens there
    broker = Broker(f"http://127.0.0.1:{port}", retries=0)
    began = time.monotonic()
    with pytest.raises(BrokerError) as caught:
        publish(broker, ROOT / "contracts" / "pacts", "abc123", "main")
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "publishing" in str(caught.value)
    assert time.monotonic() - began < 30


def test_verification_from_an_unreachable_broker_fails_naming_it() -> None:
    from harness.contracts.pactfile import read_pact
    from harness.contracts.verification import verify_provider

    port = free_port("127.0.0.1")
    pact = read_pact(ROOT / "contracts" / "pacts" / "gateway-inventory.json")
    outcome = verify_provider(
        "inventory",
        [pact],
        provider_url=f"http://127.0.0.1:{port}",
        broker=Broker(f"http://127.0.0.1:{port}", retries=0),
        version="abc123",
        branch="main",
    )
    assert not outcome.passed
    assert outcome.reported == 0
    text = "\n".join(outcome.problems)
    assert "Failed to load pact" in text
    assert f"pact broker 'http://127.0.0.1:{port}'" in text
