"""The plugin as users meet it: `pytest` versus `pytest --contracts` in a project of theirs."""

from __future__ import annotations

import json

import pytest
import yaml

from harness.contracts.matrix_notes import MatrixNotes
from tests.harness.contracts.conftest import commit_all

pytest_plugins = ["pytester"]

CONSUMER_TEST = """
import httpx
import pytest

pytestmark = pytest.mark.contracts


def test_web_reads_stock(consumer_pact):
    pact = consumer_pact("web", "stock")
    (
        pact.upon_receiving("a request for stock")
        .given("sku {sku} has {available} available", sku="S-1", available=5)
        .with_request("GET", "/stock/S-1")
        .will_respond_with(200)
        .with_body({"sku": "S-1", "available": 5}, content_type="application/json")
    )
    with pact.serve(addr="127.0.0.1") as srv:
        assert httpx.get(f"{srv.url}/stock/S-1").json()["available"] == 5
"""


def _project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_consumer=CONSUMER_TEST)
    (pytester.path / "pyproject.toml").write_text('[tool.harness]\nmanifest = "fleet.yaml"\n')
    (pytester.path / "fleet.yaml").write_text(
        yaml.safe_dump({"version": 1, "services": {"web": {"command": ["true"]}}})
    )


@pytest.mark.slow
def test_consumer_tests_run_only_with_contracts(pytester: pytest.Pytester) -> None:
    _project(pytester)
    # In subprocesses: an inline run would drop the modules it imported from sys.modules,
    # and the rest of this session would see new copies of them (and of their exceptions).
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    plain.assert_outcomes(deselected=1)
    assert not (pytester.path / "contracts").exists()
    # -k keeps only the consumer test (the verification items do not match it).
    ran = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--contracts", "-k", "web_reads")
    ran.assert_outcomes(passed=1, deselected=2)  # the coverage and breaking-change items
    assert "collected 3 items / 2 deselected / 1 selected" in ran.stdout.str()
    written = json.loads((pytester.path / "contracts" / "pacts" / "web-stock.json").read_text())
    assert [i["description"] for i in written["interactions"]] == ["a request for stock"]
    assert "pactRust" not in written["metadata"]


@pytest.mark.slow
def test_a_bad_contracts_file_stops_the_run_before_anything_starts(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester)
    bad = pytester.path / "contracts" / "contracts.yaml"
    bad.parent.mkdir()
    bad.write_text("version: 1\nmatrix: 3\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--contracts")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--contracts: {bad}:2: matrix: *"])
    assert not (pytester.path / "contracts" / "pacts").exists()


@pytest.mark.slow
def test_a_pact_for_a_provider_outside_the_manifest_fails(pytester: pytest.Pytester) -> None:
    (pytester.path / "pyproject.toml").write_text('[tool.harness]\nmanifest = "fleet.yaml"\n')
    manifest = {"version": 1, "services": {"web": {"command": ["true"], "openapi": None}}}
    (pytester.path / "fleet.yaml").write_text(yaml.safe_dump(manifest))
    pacts = pytester.path / "contracts" / "pacts"
    pacts.mkdir(parents=True)
    pact = {
        "consumer": {"name": "web"},
        "provider": {"name": "billing"},
        "interactions": [
            {
                "type": "Synchronous/HTTP",
                "description": "an invoice",
                "request": {"method": "GET", "path": "/invoices/1"},
                "response": {"status": 200},
            }
        ],
        "metadata": {"pactSpecification": {"version": "4.0"}},
    }
    (pacts / "web-billing.json").write_text(json.dumps(pact))
    commit_all(pytester.path)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--contracts", "-rf")
    result.assert_outcomes(failed=3, passed=1)  # pact, interaction, openapi; coverage passes
    result.stdout.fnmatch_lines(
        [
            "*the provider 'billing' is not in the manifest (services: web)*",
            "FAILED contracts/pacts/web-billing.json::web->billing: an invoice*",
        ]
    )
    # Nothing was verified, so nothing is recorded as verified.
    assert MatrixNotes.open(pytester.path).notes() == {}
