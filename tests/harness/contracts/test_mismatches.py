"""pact's verification results, turned into readable failures."""

from __future__ import annotations

from harness.contracts.mismatches import parse_mismatches, render_failure

# As pact_ffi 0.5.12 reports a provider that renamed `available` to `avail`.
RENAMED = {
    "consumer": "web",
    "description": "stock",
    "result": "Error",
    "mismatch": {
        "type": "mismatches",
        "mismatches": [
            {
                "actual": '["avail","sku"]',
                "expected": '["available","sku"]',
                "mismatch": "Actual map is missing the following keys: available",
                "path": "$",
                "type": "BodyMismatch",
            },
            {
                "actual": "404",
                "expected": "200",
                "mismatch": "expected 200 but was 404",
                "type": "StatusMismatch",
            },
            {
                "actual": "",
                "expected": "orders.events",
                "key": "stream",
                "mismatch": "Expected message metadata 'stream' but was missing",
                "type": "MetadataMismatch",
            },
        ],
    },
}


def test_each_mismatch_keeps_type_path_expected_and_actual() -> None:
    mismatches, errors = parse_mismatches(RENAMED)
    assert errors == []
    body, status, metadata = mismatches
    assert (body.type, body.path) == ("BodyMismatch", "$")
    assert (status.type, status.path, status.expected, status.actual) == (
        "StatusMismatch",
        "status",
        "200",
        "404",
    )
    assert metadata.path == "metadata stream"


def test_the_report_reads_as_a_failure() -> None:
    mismatches, _errors = parse_mismatches(RENAMED)
    text = render_failure(
        "web -> stock: stock",
        states=["sku S has 5 available"],
        request="request: GET /stock/S -> expected 200",
        mismatches=mismatches,
        errors=["provider state x: refused"],
    )
    assert text.splitlines()[0] == "web -> stock: stock"
    assert "given sku S has 5 available" in text
    assert "error: provider state x: refused" in text
    assert "1) BodyMismatch at $" in text
    assert "Actual map is missing the following keys: available" in text
    assert 'expected: ["available", "sku"]' in text
    assert 'actual:   ["avail", "sku"]' in text
    assert "actual:   (nothing)" in text


def test_a_plain_error_is_an_error() -> None:
    result = {"mismatch": {"type": "error", "message": "state change failed"}}
    assert parse_mismatches(result) == ([], ["state change failed"])
