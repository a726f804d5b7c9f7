"""fuzz.yaml: defaults without a file, the shipped file, and bad files reported by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_config
from harness.fuzz.errors import FuzzFileError
from harness.fuzz.settings import DEFAULT_CHECKS, load_settings

REPO = Path(__file__).resolve().parents[3]
FLEET = ["gateway", "orders", "inventory", "payments", "shipping", "relay"]


def test_without_a_file_every_default_holds(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.source is None
    assert settings.spec.max_examples == 100
    assert settings.baseline == tmp_path / "scenarios" / "fuzz" / "baseline.json"
    assert settings.checks_for("any") == list(DEFAULT_CHECKS)
    assert settings.env_overrides() == {}
    assert settings.spec.proxied is False


def test_the_shipped_settings_load_and_say_why_they_exclude(tmp_path: Path) -> None:
    settings = load_settings(REPO, services=FLEET)
    assert settings.source == REPO / "scenarios" / "fuzz" / "fuzz.yaml"
    assert settings.baseline == REPO / "scenarios" / "fuzz" / "baseline.json"
    assert settings.env_overrides()["gateway"]["RATE_LIMIT_RPS"] == "100000"
    assert settings.spec.machine.max_examples >= 50
    excluded = settings.excluded_checks("orders", "POST /orders")
    assert set(excluded) == {"positive_data_acceptance"}
    assert "sku" in excluded["positive_data_acceptance"]
    # Exclusions are per operation: the rest of the service keeps every check.
    assert settings.excluded_checks("orders", "GET /orders/{order_id}") == {}
    assert "positive_data_acceptance" in settings.checks_for("orders")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nmax_examples: 0\n", "fuzz.yaml:2: max_examples: Input should be greater"),
        (
            "version: 1\nservices:\n  nope: {}\n",
            "fuzz.yaml:3: services.nope: unknown service 'nope'",
        ),
        (
            "version: 1\nexclude_checks:\n  not_a_check: because it is noisy\n",
            "fuzz.yaml:3: exclude_checks.not_a_check.[key]: Input should be",
        ),
        (
            "version: 1\nexclude_checks:\n  ignored_auth: meh\n",
            "fuzz.yaml:3: exclude_checks.ignored_auth: String should have at least 10",
        ),
        (
            "version: 1\nservices:\n  orders:\n    operations:\n      orders: {}\n",
            "fuzz.yaml:5: services.orders.operations.orders.[key]: String should match pattern",
        ),
        ("version: 2\n", "fuzz.yaml:1: version: Input should be 1"),
        ("version: 1\nmistake: 1\n", "fuzz.yaml:2: mistake: unknown field 'mistake'"),
    ],
)
def test_a_bad_file_names_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FuzzFileError) as failed:
        load_settings(tmp_path, path=path, services=FLEET)
    assert str(failed.value).startswith(str(path.parent) + "/")
    assert expected in str(failed.value)


def test_the_configuration_moves_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nbaseline: known.json\nmax_examples: 7\n")
    config = load_config(start=tmp_path / "elsewhere", environ={"HARNESS_FUZZ_FILE": str(path)})
    assert config.fuzz.settings == path
    settings = load_settings(tmp_path / "elsewhere", path=config.fuzz.settings)
    assert settings.spec.max_examples == 7
    assert settings.baseline == tmp_path / "known.json"


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FuzzFileError, match="file not found"):
        load_settings(tmp_path, path=tmp_path / "missing.yaml")


def test_levels_of_exclusion_add_up(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\n"
        "checks: [object_level_authorization]\n"
        "exclude_checks: {use_after_free: no DELETE anywhere in this API}\n"
        "services:\n"
        "  orders:\n"
        "    exclude_checks: {ignored_auth: orders has no auth of its own}\n"
        "    operations:\n"
        "      POST /orders:\n"
        "        exclude_checks: {positive_data_acceptance: 'one line per sku, see ADR 7'}\n",
    )
    settings = load_settings(tmp_path, path=path, services=FLEET)
    assert "object_level_authorization" in settings.checks_for("inventory")
    assert "use_after_free" not in settings.checks_for("inventory")
    assert "ignored_auth" not in settings.checks_for("orders")
    assert set(settings.excluded_checks("orders", "POST /orders")) == {
        "use_after_free",
        "ignored_auth",
        "positive_data_acceptance",
    }


def test_the_editor_schema_is_current() -> None:
    from harness.fuzz.schema import main

    assert main([str(REPO / "scenarios" / "fuzz" / "fuzz.schema.json"), "--check"]) == 0
