"""`pytest --fuzz`, as a user meets it: one item per operation, nothing without the flag."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import yaml

# The plugin imports a suite only when asked, and in-process inner runs unload what they
# import: imported here, the suite stays loaded across them.
import harness.pytest.fuzz  # noqa: F401

from .conftest import REPO, app_service

pytest_plugins = ["pytester"]
QUIET = ("-p", "no:asyncio", "-p", "no:cacheprovider")

MODEL = """
import uuid

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, rule

from harness.fuzz.state_machine import FleetStateMachine


class Notes(FleetStateMachine):
    notes = Bundle("notes")

    @rule(target=notes, priority=st.integers(0, 9))
    def write(self, priority):
        token = self.client.post("notes", "/auth/token", json_body={"client_id": "t"}).json()
        auth = {"Authorization": "Bearer " + token["access_token"]}
        body = {"text": "n", "priority": priority}
        made = self.client.post("notes", "/notes", json_body=body, headers=auth)
        assert made.status_code == 201
        return (made.json()["id"], auth)

    @rule(note=notes)
    def read(self, note):
        assert self.client.get("notes", "/notes/" + note[0], headers=note[1]).status_code == 200


def test_notes_model(fuzzer):
    report = fuzzer.run_machine(Notes, max_examples=5, steps=4)
    assert report.runs >= 5
"""


@pytest.fixture
def notes_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(
        ".toml",
        pyproject='[tool.harness]\nmanifest = "fleet.yaml"\nreport_dir = "reports"\n',
    )
    manifest = {
        "version": 1,
        "name": "notes",
        "root": str(REPO),
        "services": {"notes": app_service("notes", env={"BUGS": "server_error"})},
    }
    (pytester.path / "fleet.yaml").write_text(yaml.safe_dump(manifest))
    settings = pytester.path / "scenarios" / "fuzz"
    settings.mkdir(parents=True)
    (settings / "fuzz.yaml").write_text(
        "version: 1\nmax_examples: 10\nstateful: {max_examples: 3}\nmachine: {max_examples: 5}\n"
    )
    pytester.makepyfile(test_model=MODEL)
    return pytester


def test_without_the_flag_fuzz_tests_are_deselected(notes_project: pytest.Pytester) -> None:
    result = notes_project.runpytest(*QUIET)
    result.assert_outcomes(deselected=1)
    assert "harness fuzz" not in result.stdout.str()
    assert not (notes_project.path / "reports").exists()


def test_a_bad_settings_file_stops_the_session(notes_project: pytest.Pytester) -> None:
    (notes_project.path / "scenarios" / "fuzz" / "fuzz.yaml").write_text("version: 1\nmax: 1\n")
    result = notes_project.runpytest(*QUIET, "--fuzz")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--fuzz: */fuzz.yaml:2: max: unknown field 'max'*"])


def test_a_fleet_without_an_openapi_stops_the_session_before_it_starts(
    notes_project: pytest.Pytester,
) -> None:
    manifest = yaml.safe_load((notes_project.path / "fleet.yaml").read_text())
    manifest["services"]["notes"]["openapi"] = None
    (notes_project.path / "fleet.yaml").write_text(yaml.safe_dump(manifest))
    result = notes_project.runpytest(*QUIET, "--fuzz")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--fuzz: nothing to fuzz: no service to fuzz "
            "(no OpenAPI (manifest openapi: null): notes)*"
        ]
    )
    assert "booting" not in result.stdout.str() + result.stderr.str()


@pytest.mark.slow
def test_one_item_per_operation_and_the_state_machine(notes_project: pytest.Pytester) -> None:
    result = notes_project.runpytest_subprocess(
        *QUIET, "--fuzz", "--fuzz-seed", "77", "-rA", "--junitxml=junit.xml"
    )

    result.stdout.fnmatch_lines(["harness fuzz: seed 77 (given*"])
    outcomes = {
        case.get("name"): "failed" if case.find("failure") is not None else "passed"
        for case in ET.parse(notes_project.path / "junit.xml").getroot().iter("testcase")
    }
    assert outcomes == {
        "test_notes_model": "passed",
        "notes POST /auth/token": "passed",
        "notes POST /notes": "failed",
        "notes GET /notes/{note_id}": "passed",
        "notes DELETE /notes/{note_id}": "passed",
        "notes stateful": outcomes["notes stateful"],  # may meet the 500 too
        "notes auth": "passed",  # the conformance check: every token variant refused
    }
    output = result.stdout.str()
    assert "Server error [not_a_server_error] at notes POST /notes" in output
    assert "pytest --fuzz --fuzz-seed 77 --fuzz-target 'notes POST /notes'" in output
    assert "state machine Notes: " in output
    assert "consecutive rule pairs" in output
    assert (notes_project.path / "reports" / "fuzz" / "fuzz.json").is_file()
