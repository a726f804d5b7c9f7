"""Profiles: the shipped ones are valid, bad ones fail with file:line: field: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.load import schema
from harness.load.errors import LoadProfileError
from harness.load.plan import compile_plan
from harness.load.profiles import load_profile

from .conftest import WriteProfile, profile_dict

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = sorted((ROOT / "scenarios" / "load").glob("*.yaml"))

GOOD = """\
version: 1
name: good
base_url: http://127.0.0.1:9
warmup: 1s
stages:
  - {duration: 5s, users: 2}
auth: {body: {client_id: "c-{user_id}"}}
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


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
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
        ("auth: {body:", "authentication: {body:", ":7: authentication: unknown field"),
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
    path = write_profile(GOOD.replace('auth: {body: {client_id: "c-{user_id}"}}\n', ""))
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
