"""harness.yamlsource: YAML with line numbers, validated by pydantic, faults as file:line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from harness.errors import SpecError, SpecIssue
from harness.yamlsource import Problem, format_loc, load_model


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: int
    action: str


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    steps: list[Step] = []

    def problems(self) -> Iterable[Problem]:
        for index, step in enumerate(self.steps):
            if step.action == "explode":
                yield Problem(("steps", index, "action"), "no exploding")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


def test_valid_file_loads_into_the_model(tmp_path: Path) -> None:
    plan = load_model(write(tmp_path, "name: p\nsteps:\n  - {at: 1, action: go}\n"), Plan)
    assert plan == Plan(name="p", steps=[Step(at=1, action="go")])


def test_unknown_field_is_reported_at_its_own_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: p\nsteps:\n  - at: 1\n    action: go\n    colour: red\n")
    with pytest.raises(SpecError) as caught:
        load_model(path, Plan)
    assert str(caught.value) == f"{path}:5: steps[0].colour: unknown field 'colour'"
    assert (caught.value.line, caught.value.field_path) == (5, "steps[0].colour")


def test_wrong_type_names_the_value_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: p\nsteps:\n  - at: soon\n    action: go\n")
    with pytest.raises(SpecError) as caught:
        load_model(path, Plan)
    assert caught.value.line == 3
    assert caught.value.field_path == "steps[0].at"
    assert "integer" in caught.value.message


def test_missing_field_points_at_its_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "name: p\nsteps:\n  - at: 1\n")
    with pytest.raises(SpecError) as caught:
        load_model(path, Plan)
    assert str(caught.value) == f"{path}:3: steps[0].action: missing required field 'action'"


def test_every_issue_is_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - at: x\n    action: go\n")
    with pytest.raises(SpecError) as caught:
        load_model(path, Plan)
    fields = sorted(issue.field for issue in caught.value.issues)
    assert fields == ["name", "steps[0].at"]


def test_model_problems_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path, "name: p\nsteps:\n  - {at: 1, action: go}\n  - {at: 2, action: explode}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_model(path, Plan)
    assert str(caught.value) == f"{path}:4: steps[1].action: no exploding"


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: p\nsteps: [\n  {at: 1\n")
    with pytest.raises(SpecError) as caught:
        load_model(path, Plan)
    assert caught.value.line >= 3
    assert "invalid YAML" in caught.value.message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    # PyYAML keeps the last one silently; a user would never know which one counted.
    path = write(tmp_path, "name: p\nname: q\n")
    with pytest.raises(SpecError) as caught:
        load_model(path, Plan)
    assert str(caught.value) == f"{path}:2: name: duplicate key 'name'"


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="expected a mapping"):
        load_model(write(tmp_path, "- a\n- b\n"), Plan)


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_model(tmp_path / "absent.yaml", Plan)


def test_error_class_is_chosen_by_the_caller(tmp_path: Path) -> None:
    class PlanError(SpecError):
        pass

    with pytest.raises(PlanError):
        load_model(write(tmp_path, "nom: p\n"), Plan, error=PlanError)


def test_format_loc() -> None:
    assert format_loc(("services", "orders", "command", 0)) == "services.orders.command[0]"
    assert format_loc(()) == ""


def test_issue_without_line_or_field() -> None:
    assert str(SpecIssue("f.yaml", 0, "", "cannot read")) == "f.yaml: cannot read"
