"""pytest --load and the run_load_profile fixture, as a user's pytest run meets them."""

from __future__ import annotations

import pytest
import yaml

# The plugin imports a suite only when asked; in-process inner runs (pytester.runpytest)
# unload whatever they imported, and numpy (under matplotlib) cannot be imported twice in
# one process. Imported here, it stays loaded across the inner runs.
import harness.pytest.load  # noqa: F401

from .conftest import profile_dict

pytest_plugins = ["pytester"]
QUIET = ("-p", "no:asyncio", "-p", "no:cacheprovider", "-p", "no:pytest_locust")


def profiles(pytester: pytest.Pytester, target: str) -> None:
    directory = pytester.mkdir("scenarios").joinpath("load")
    directory.mkdir()
    data = profile_dict(
        target,
        stages=[{"duration": "3s", "users": 2, "spawn_rate": 10}],
        thresholds={
            "http_req_duration": ["p(95)<5000"],
            "http_req_duration{name:slow}": ["p(95)<1"],
            "http_reqs": ["count>5"],
        },
    )
    (directory / "standin.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def test_without_load_profiles_are_not_collected(pytester: pytest.Pytester, target: str) -> None:
    profiles(pytester, target)
    result = pytester.runpytest(*QUIET, "--co", "-q")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.mark.slow
def test_load_collects_one_item_per_threshold_and_runs_the_profile_once(
    pytester: pytest.Pytester, target: str
) -> None:
    profiles(pytester, target)
    result = pytester.runpytest(*QUIET, "--load", "-rf")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenarios/load/standin.yaml .F.*",
            "*standin: http_req_duration{name:slow}: p(95)<1: FAILED, observed * ms*",
        ]
    )
    reports = list((pytester.path / "reports" / "load").iterdir())
    assert [r.name for r in reports] == ["standin"]  # one run for the three items


def test_a_bad_profile_is_a_collection_error_with_file_and_line(
    pytester: pytest.Pytester, target: str
) -> None:
    directory = pytester.mkdir("scenarios").joinpath("load")
    directory.mkdir()
    (directory / "bad.yaml").write_text(
        f"version: 1\nname: bad\nbase_url: {target}\nstages:\n  - {{duration: 1s, users: 1}}\n"
        "tasks: [{name: a, request: {path: /ok}}]\nthresholds:\n  http_req_duration: [avg]\n"
    )
    result = pytester.runpytest(*QUIET, "--load")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    # (fnmatch would read [0] as a character class.)
    expected = "*bad.yaml:8: thresholds.http_req_duration?0?: 'avg' is not a threshold*"
    result.stdout.fnmatch_lines([expected])


@pytest.mark.slow
def test_the_fixture_runs_a_profile_inside_a_test(pytester: pytest.Pytester, target: str) -> None:
    profiles(pytester, target)
    pytester.makepyfile(
        test_mine="""
        def test_standin_holds_its_slo(run_load_profile):
            result = run_load_profile("scenarios/load/standin.yaml")
            assert result.threshold("http_reqs: count>5").passed
            assert not result.passed
            assert result.failed_thresholds[0].threshold.selector.name == "slow"
        """
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1)


def write(pytester: pytest.Pytester, name: str, data: dict[str, object]) -> None:
    directory = pytester.path / "scenarios" / "load"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.slow
def test_expect_turns_a_failing_threshold_into_a_passing_check_and_back(
    pytester: pytest.Pytester, target: str
) -> None:
    quick = {"stages": [{"duration": "2s", "users": 2, "spawn_rate": 10}]}
    thresholds = {"http_req_duration": ["p(95)<5000"], "http_reqs": ["count<1"]}
    # Meant to fail, and fails: every check passes.
    write(
        pytester,
        "meant",
        profile_dict(
            target,
            name="meant",
            thresholds=thresholds,
            expect={"verdict": "thresholds failed", "failed": ["http_reqs: count<1"]},
            **quick,
        ),
    )
    # Claims the passing threshold fails: that check and the verdict check fail.
    write(
        pytester,
        "wrong",
        profile_dict(
            target,
            name="wrong",
            thresholds={"http_req_duration": ["p(95)<5000"]},
            expect={"verdict": "thresholds failed", "failed": ["http_req_duration: p(95)<5000"]},
            **quick,
        ),
    )
    result = pytester.runpytest(*QUIET, "--load", "-rf", "-v")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*meant.yaml::http_reqs: count<1 PASSED*",
            "*meant.yaml::verdict: thresholds failed PASSED*",
            "*wrong: http_req_duration: p(95)<5000: passed, observed * ms, "
            "but this threshold is meant to fail*",
            "*wrong: verdict 'passed', expected 'thresholds failed'*",
        ]
    )


@pytest.mark.slow
def test_a_run_that_made_no_request_fails_every_check_and_says_why(
    pytester: pytest.Pytester, target: str
) -> None:
    # The only task waits for a value only its own response would save: it never runs.
    write(
        pytester,
        "idle",
        profile_dict(
            target,
            name="idle",
            stages=[{"duration": "2s", "users": 2, "spawn_rate": 10}],
            tasks=[{"name": "chase", "request": {"path": "/x/{item}", "save": {"item": "path"}}}],
            thresholds={"http_req_duration": ["p(95)<5000"], "http_req_failed": ["rate<0.5"]},
        ),
    )
    result = pytester.runpytest(*QUIET, "--load", "-rf")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*idle: no request was measured: every task was skipped, waiting for a value no "
            "response saved (chase: *)*"
        ]
    )
