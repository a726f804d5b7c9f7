"""The baseline: known failures match by identity (never by data); the shipped one is empty."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from harness.fuzz.baseline import Baseline, BaselineEntry
from harness.fuzz.errors import KnownFailuresError
from harness.fuzz.findings import Finding

REPO = Path(__file__).resolve().parents[3]


def finding(check: str = "not_a_server_error", curl: str = "curl -X POST x", **kw: str) -> Finding:
    fields = {"service": "orders", "operation": "POST /orders", "signature": "ServerError:500"}
    fields.update(kw)
    return Finding(check=check, code="ST100", title="Server error", message="", curl=curl, **fields)


def test_the_shipped_fleet_has_no_known_failures() -> None:
    baseline = Baseline.load(REPO / "scenarios" / "fuzz" / "baseline.json")
    assert baseline.entries == []


def test_a_missing_file_is_an_empty_baseline(tmp_path: Path) -> None:
    assert Baseline.load(tmp_path / "none.json").entries == []


def test_known_failures_match_whatever_data_found_them(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    Baseline(path=path).updated([finding(curl="curl -d 1")], today=date(2026, 1, 2)).save()
    baseline = Baseline.load(path)

    other_data = finding(curl="curl -d 999")
    other_check = finding(check="status_code_conformance")
    other_signature = finding(signature="ServerError:502")
    classified = baseline.classify([other_data, other_check, other_signature])

    assert [f.known for f in classified] == [True, False, False]
    assert classified[0].baseline_reason == "TODO: why is this failure tolerated?"


def test_an_update_keeps_reasons_and_dates_and_drops_what_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    old = Baseline(
        [
            BaselineEntry(
                "orders",
                "POST /orders",
                "not_a_server_error",
                "ServerError:500",
                reason="issue #12",
                first_seen="2026-01-01",
            ),
            BaselineEntry(
                "orders",
                "GET /orders/{id}",
                "not_a_server_error",
                "ServerError:500",
                reason="fixed since",
            ),
        ],
        path,
    )
    new = old.updated([finding(), finding()], today=date(2026, 3, 3))
    new.save()

    document = json.loads(path.read_text())
    assert document == {
        "version": 1,
        "entries": [
            {
                "service": "orders",
                "operation": "POST /orders",
                "check": "not_a_server_error",
                "signature": "ServerError:500",
                "reason": "issue #12",
                "first_seen": "2026-01-01",
            }
        ],
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a readable JSON file"),
        ('{"version": 2, "entries": []}', "expected"),
        ('{"version": 1, "entries": {}}', "entries: expected a list"),
        ('{"version": 1, "entries": [{"service": "a"}]}', "entries[0]: missing operation, check"),
    ],
)
def test_a_bad_baseline_names_the_file_and_fault(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(KnownFailuresError) as failed:
        Baseline.load(path)
    assert str(failed.value).startswith(str(path))
    assert message in str(failed.value)
