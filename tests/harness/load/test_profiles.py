"""Profiles: the shipped ones are valid, bad ones fail with file:line: field: message."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from harness.load import schema
from harness.load.errors import LoadProfileError
from harness.load.expectations import checks
from harness.load.plan import compile_plan
from harness.load.profiles import load_profile

from .conftest import WriteProfile, profile_dict

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted((ROOT / "scenarios" / "load").glob("*.yaml"))
GATES = sorted((ROOT / "tests" / "load").glob("*.yaml"))

GOOD = """\
version: 1
name: good
base_url: http://127.0.0.1:9
warmup: 1s
stages:
  - {duration: 5s, users: 2}
auth: {path: /auth/token, body: {client_id: "c-{user_id}"}}
tasks:
  - name: place order
    request: {method: POST, path: /orders, auth: bearer, idempotency_key: true,
              save: {last_order_id: order_id}}
  - {name: get order, request: {path: "/orders/{last_order_id}"}}
thresholds:
  http_req_duration: ["p(95)<300"]
  "http_req_duration{name:place order}": ["p(99)<800"]
  http_req_failed: [{threshold: "rate<0.01", abort_on_fail: true, delay_abort_eval: 3s}]
"""


@pytest.mark.parametrize("path", SHIPPED + GATES, ids=[p.name for p in SHIPPED + GATES])
def test_shipped_profiles_are_valid(path: Path) -> None:
    profile = load_profile(path)
    assert profile.parsed_thresholds()


def test_the_json_schema_is_up_to_date() -> None:
    current = (ROOT / schema.DEFAULT_PATH).read_text(encoding="utf-8")
    assert current == schema.rendered(), "run: python -m harness.load.schema"


def test_a_good_profile_compiles(write_profile: WriteProfile, tmp_path: Path) -> None:
    profile = load_profile(write_profile(GOOD))
    plan = compile_plan(profile, "http://127.0.0.1:9/", tmp_path, run_id="r1")
    assert plan.base_url == "http://127.0.0.1:9"
    assert plan.duration_s == 5.0
    assert plan.abort_thresholds == [
        {"key": "http_req_failed", "condition": "rate<0.01", "delay_abort_eval_s": 3.0}
    ]
    assert [t["name"] for t in plan.tasks] == ["place order", "get order"]


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            "{duration: 5s, users: 2}",
            "{duration: 5 sec, users: 2}",
            ":6: stages[0].duration: '5 sec' is not a duration",
        ),
        (
            "{duration: 5s, users: 2}",
            "{duration: 5s, users: 2, rate: 3}",
            ":6: stages[0]: give users (closed model) or rate (open model), not both",
        ),
        ("warmup: 1s", "warmup: 9s", ":4: warmup: the warm-up must end before the last stage"),
        (
            '["p(95)<300"]',
            '["p95<300"]',
            ":14: thresholds.http_req_duration[0]: 'p95<300' is not a threshold",
        ),
        (
            '"http_req_duration{name:place order}"',
            '"http_req_duration{name:plcae order}"',
            ":15: thresholds.http_req_duration{name:plcae order}: no task named 'plcae order'",
        ),
        (
            "/orders/{last_order_id}",
            "/orders/{last_oder_id}",
            ":12: tasks[1].request.path: unknown variable '{last_oder_id}'",
        ),
        ("auth: {path:", "authentication: {path:", ":7: authentication: unknown field"),
        # The harness knows no fleet's token endpoint: a profile names it.
        ("{path: /auth/token, body:", "{body:", ":7: auth.path: missing required field 'path'"),
        (
            "abort_on_fail: true",
            "abort_on_failure: true",
            ":16: thresholds.http_req_failed[0].abort_on_failure: unknown field",
        ),
    ],
)
def test_errors_name_file_line_and_field(
    write_profile: WriteProfile, replace: str, by: str, expected: str
) -> None:
    assert replace in GOOD
    path = write_profile(GOOD.replace(replace, by))
    with pytest.raises(LoadProfileError) as caught:
        load_profile(path)
    assert f"{path}{expected}" in str(caught.value)


def test_bearer_tasks_need_an_auth_section(write_profile: WriteProfile) -> None:
    auth = 'auth: {path: /auth/token, body: {client_id: "c-{user_id}"}}\n'
    path = write_profile(GOOD.replace(auth, ""))
    with pytest.raises(LoadProfileError, match=r":9: tasks\[0\]\.request\.auth: auth: bearer"):
        load_profile(path)


def test_open_model_rules(write_profile: WriteProfile) -> None:
    data = profile_dict("http://127.0.0.1:9", stages=[{"duration": "5s", "rate": 10}])
    data["thresholds"] = {"dropped_iterations": ["count<1"]}
    with pytest.raises(LoadProfileError, match="max_users: the open model"):
        load_profile(write_profile(data))
    data["max_users"] = 5
    with pytest.raises(LoadProfileError, match="wait: the open model paces"):
        load_profile(write_profile(data))
    del data["wait"]
    assert load_profile(write_profile(data)).open_model


def test_dropped_iterations_need_the_open_model(write_profile: WriteProfile) -> None:
    data = profile_dict("http://127.0.0.1:9", thresholds={"dropped_iterations": ["count<1"]})
    with pytest.raises(LoadProfileError, match="dropped_iterations needs the open model"):
        load_profile(write_profile(data))


def test_exactly_one_target_and_one_kind_of_tasks(write_profile: WriteProfile) -> None:
    data = profile_dict("http://127.0.0.1:9", target="gateway", locustfile="missing.py")
    with pytest.raises(LoadProfileError) as caught:
        load_profile(write_profile(data))
    text = str(caught.value)
    assert "locustfile: no such file" in text


def test_a_user_locustfile_resolves_next_to_the_profile(
    write_profile: WriteProfile, tmp_path: Path
) -> None:
    (tmp_path / "mine.py").write_text("# a user's locustfile\n")
    data = profile_dict("http://127.0.0.1:9", locustfile="mine.py")
    del data["tasks"]
    data["thresholds"] = {"http_req_duration{name:anything}": ["p(95)<100"]}
    profile = load_profile(write_profile(data))
    assert profile.locustfile == str(tmp_path / "mine.py")


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"p95": "15%"}, "'15%' is not a limit: write e.g. \\+20%"),
        ({"p95": "-15%"}, "p95 regresses upwards"),
        ({"rps": "+10%"}, "rps regresses downwards"),
        ({"error_rate": "+1%"}, "percentage points"),
        ({"p42": "+1%"}, "unknown metric 'p42'"),
    ],
)
def test_compare_limits_are_checked(
    write_profile: WriteProfile, limits: dict[str, str], message: str
) -> None:
    data = profile_dict("http://127.0.0.1:9", compare={"max_regression": limits})
    with pytest.raises(LoadProfileError, match=message):
        load_profile(write_profile(data))


def test_pytest_load_collects_the_gate_profiles_not_the_slos() -> None:
    # make test runs `pytest --load`: it must collect tests/load (verdicts no machine's speed
    # changes), not scenarios/load (the sample fleet's SLOs, for `harness load` and CI).
    with (ROOT / "pyproject.toml").open("rb") as file:
        settings = tomllib.load(file)["tool"]["harness"]["load"]
    assert settings["profiles"] == "tests/load"
    assert len(GATES) >= 4


@pytest.mark.parametrize("path", GATES, ids=[p.name for p in GATES])
def test_gate_profiles_leave_a_margin_no_machine_closes(path: Path) -> None:
    profile = load_profile(path)
    assert profile.expect is not None, "a gate profile says how its run must end"
    for threshold in profile.parsed_thresholds():
        if threshold.id in profile.expected.failed:
            continue
        condition = threshold.condition
        if threshold.kind == "trend":
            assert condition.op in ("<", "<=")
            assert condition.value >= 10_000, f"{threshold.id}: an SLO, not a gate check"
        if threshold.kind == "counter":
            assert condition.op in (">", ">=")
            assert condition.value <= 1, f"{threshold.id}: a throughput the machine must reach"
        if threshold.kind == "rate":
            assert condition.value >= 0.5, f"{threshold.id}: too tight for a busy machine"


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        (
            {"verdict": "thresholds failed", "failed": ["http_reqs: count<9"]},
            ":(\\d+): expect.failed\\[0\\]: no threshold 'http_reqs: count<9'",
        ),
        (
            {"verdict": "thresholds failed"},
            "expect.verdict: 'thresholds failed' and thresholds expected to fail \\(0\\) "
            "contradict",
        ),
        (
            {"verdict": "passed", "failed": ["http_req_duration: p(95)<2000"]},
            "expect.verdict: 'passed' and thresholds expected to fail \\(1\\) contradict",
        ),
        ({"verdict": "regression"}, "expect.verdict: a regression needs a baseline"),
        (
            {
                "verdict": "aborted",
                "failed": ["http_req_duration: p(95)<2000"],
                "aborted_by": "http_req_duration: p(95)<2000",
            },
            "expect.aborted_by: 'http_req_duration: p\\(95\\)<2000' is not a threshold with "
            "abort_on_fail",
        ),
        (
            {"verdict": "aborted", "failed": ["http_req_duration: p(95)<2000"]},
            "expect.verdict: 'aborted' and aborted_by go together",
        ),
        ({"verdict": "error"}, "expect.verdict: Input should be 'passed', 'thresholds failed'"),
    ],
)
def test_expect_is_checked_against_the_profile(
    write_profile: WriteProfile, expect: dict[str, object], message: str
) -> None:
    path = write_profile(profile_dict("http://127.0.0.1:9", expect=expect))
    with pytest.raises(LoadProfileError, match=message) as caught:
        load_profile(path)
    assert str(caught.value).startswith(f"{path}:")


def test_a_profile_names_its_baseline_next_to_it(
    write_profile: WriteProfile, tmp_path: Path
) -> None:
    data = profile_dict("http://127.0.0.1:9", compare={"baseline": "base/report.json"})
    with pytest.raises(LoadProfileError, match=r":\d+: compare.baseline: no such file"):
        load_profile(write_profile(data))
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "report.json").write_text("{}")
    assert load_profile(write_profile(data)).stored_baseline == tmp_path / "base" / "report.json"


def test_a_profile_that_applies_no_load_is_bad_input(write_profile: WriteProfile) -> None:
    # Zero work is not a pass: such a run would measure nothing and could only "pass".
    data = profile_dict("http://127.0.0.1:9", stages=[{"duration": "3s", "users": 0}])
    with pytest.raises(LoadProfileError, match="stages: no stage applies any load"):
        load_profile(write_profile(data))
    data = profile_dict("http://127.0.0.1:9", stages=[{"duration": "3s", "rate": 0}])
    data.update(max_users=2)
    del data["wait"]
    with pytest.raises(LoadProfileError, match="stages: no stage applies any load"):
        load_profile(write_profile(data))


def test_the_checks_pytest_load_makes_of_a_profile() -> None:
    by_name = {p.stem: load_profile(p) for p in GATES}
    assert [c.name for c in checks(by_name["gate-aborts"])] == [
        "http_req_failed: rate<0.5",
        "http_reqs: count<1",
        "aborted by http_reqs: count<1",
        "verdict: aborted",
    ]
    regresses = [c.name for c in checks(by_name["gate-regresses"])]
    assert regresses[-2:] == ["a regression against the baseline", "verdict: regression"]
    # A profile without expect: its thresholds must pass; a baseline on the command line
    # adds the comparison; no verdict item.
    slo = load_profile(ROOT / "scenarios" / "load" / "checkout-short.yaml")
    names = [c.name for c in checks(slo, baseline_given=True)]
    assert names[-1] == "no regression against the baseline"
    assert not any(c.expect_failure for c in checks(slo, baseline_given=True))
    assert not any(n.startswith("verdict") for n in names)
