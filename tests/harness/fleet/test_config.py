"""harness.config: one place, one order of precedence, paths made absolute."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_config
from harness.errors import ConfigError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.harness]\nmanifest = "fleet/fleet.yaml"\n'
        "[tool.harness.fuzz]\nci_seed = 7\n"
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    return tmp_path


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.root == tmp_path
    assert config.manifest == tmp_path / "fleet.yaml"
    assert (config.provider, config.fuzz.ci_seed, config.keep_logs) == ("local", 0, False)
    assert config.report_dir == tmp_path / "reports"


def test_pyproject_is_found_upwards_and_paths_are_relative_to_it(project: Path) -> None:
    config = load_config(environ={})
    assert config.root == project
    assert config.manifest == project / "fleet" / "fleet.yaml"
    assert config.fuzz.ci_seed == 7
    assert config.sources["fuzz.ci_seed"].endswith("pyproject.toml [tool.harness]")


def test_harness_toml_beats_pyproject(project: Path) -> None:
    (project / "harness.toml").write_text('provider = "external"\n[fuzz]\nci_seed = 8\n')
    config = load_config(environ={})
    assert (config.fuzz.ci_seed, config.provider) == (8, "external")
    assert config.manifest == project / "fleet" / "fleet.yaml"


def test_precedence_files_ini_environment_options(project: Path) -> None:
    environ = {"HARNESS_FUZZ_CI_SEED": "9", "HARNESS_PROVIDER": "external"}
    config = load_config(
        environ=environ,
        project={"fuzz.ci_seed": 10, "report_dir": "out", "provider": "local"},
        overrides={"provider": "local", "manifest": None},
    )
    assert config.fuzz.ci_seed == 9  # environment beats ini
    assert config.provider == "local"  # options beat the environment
    assert config.report_dir == project / "out"  # ini paths are relative to the root
    assert config.manifest == project / "fleet" / "fleet.yaml"  # None means "not given"
    assert config.sources["provider"] == "options"


def test_paths_typed_by_the_user_are_relative_to_the_current_directory(project: Path) -> None:
    config = load_config(
        environ={"HARNESS_REPORT_DIR": "r"}, overrides={"manifest": Path("m.yaml")}
    )
    assert config.manifest == project / "sub" / "m.yaml"
    assert config.report_dir == project / "sub" / "r"


def test_external_urls_from_file_and_environment(project: Path) -> None:
    (project / "harness.toml").write_text(
        '[external]\npostgres = "postgresql://u:p@db:5432/postgres"\nredis = "redis://r:6379/0"\n'
    )
    config = load_config(environ={"HARNESS_EXTERNAL_REDIS": "redis://other:6379/1"})
    assert config.external == {
        "postgres": "postgresql://u:p@db:5432/postgres",
        "redis": "redis://other:6379/1",
    }


def test_unknown_setting_names_its_source(project: Path) -> None:
    (project / "harness.toml").write_text("manifests = 'x'\n")
    with pytest.raises(ConfigError, match=r"harness\.toml: manifests: unknown setting"):
        load_config(environ={})


def test_bad_environment_value_names_the_environment(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment: fuzz\.ci_seed"):
        load_config(environ={"HARNESS_FUZZ_CI_SEED": "many"})


def test_a_renamed_setting_says_where_it_went(project: Path) -> None:
    (project / "harness.toml").write_text("seed = 3\n")
    with pytest.raises(
        ConfigError, match=r"seed: split into fuzz\.ci_seed .* infra\.toxiproxy_seed"
    ):
        load_config(environ={})


def test_sections_resolve_through_the_same_chain(project: Path) -> None:
    (project / "harness.toml").write_text('[contracts]\nsettings = "c/contracts.yaml"\n')
    config = load_config(
        environ={"HARNESS_FUZZ_FILE": "f.yaml", "HARNESS_BROKER_RETRIES": "4"},
        overrides={"load.profiles": "profiles"},
    )
    assert config.contracts.settings == project / "c" / "contracts.yaml"  # file: the root
    assert config.fuzz.settings == project / "sub" / "f.yaml"  # typed: where the user is
    assert config.contracts.broker_retries == 4
    assert config.load.profiles == project / "sub" / "profiles"
    assert config.chaos.scenarios == project / "scenarios" / "chaos"  # the default
    assert config.given("fuzz.settings")
    assert not config.given("contracts.version")


def test_unreadable_toml_is_a_config_error(project: Path) -> None:
    (project / "harness.toml").write_text("provider = \n")
    with pytest.raises(ConfigError, match=r"harness\.toml"):
        load_config(environ={})


def test_this_repository_points_at_the_sample_fleet() -> None:
    root = Path(__file__).resolve().parents[3]
    config = load_config(start=root, environ={})
    assert config.manifest == root / "sample_services" / "fleet.yaml"
    assert config.manifest.is_file()


def test_docker_images_default_to_what_a_registry_serves_and_are_settings(project: Path) -> None:
    defaults = load_config(environ={}).infra
    assert (defaults.postgres_image, defaults.redis_image, defaults.toxiproxy_image) == (
        "postgres:16",
        "redis:7",
        "ghcr.io/shopify/toxiproxy:2.12.0",
    )
    (project / "harness.toml").write_text(
        'provider = "docker"\n[infra]\npostgres_image = "mine/pg:15"\n'
    )
    config = load_config(environ={"HARNESS_REDIS_IMAGE": "local/redis:7"})
    assert config.provider == "docker"
    assert (config.infra.postgres_image, config.infra.redis_image) == (
        "mine/pg:15",
        "local/redis:7",
    )


@pytest.mark.parametrize(
    ("value", "required"), [("1", True), ("true", True), ("", False), ("0", False)]
)
def test_require_docker_is_read_from_the_environment(value: str, required: bool) -> None:
    from harness.config import require_docker

    assert require_docker({"HARNESS_REQUIRE_DOCKER": value}) is required
    assert require_docker({}) is False


def test_the_zygote_is_on_unless_switched_off(project: Path) -> None:
    assert load_config(environ={}).infra.zygote is True
    assert load_config(environ={"HARNESS_ZYGOTE": "0"}).infra.zygote is False
    (project / "harness.toml").write_text("[infra]\nzygote = false\n")
    assert load_config(environ={}).infra.zygote is False
    assert load_config(environ={"HARNESS_ZYGOTE": "true"}).infra.zygote is True
