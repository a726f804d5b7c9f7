"""It catches breakage: a renamed response field, and an event that lost a field.

The provider side runs for real: a small FastAPI provider in a temporary project, started
through the fleet lifecycle by `pytest --contracts` (pytester); the event builder is a
temporary copy of orders' real one with a field taken out. The sample fleet is not edited.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from harness.contracts.messages import MessageRequest, ProducedMessage
from harness.contracts.pactfile import read_pact
from harness.contracts.verification import verify_provider
from tests.harness.contracts.conftest import (
    PACTS,
    ROOT,
    commit_all,
    git,
    http_interaction,
    pact_document,
)

pytest_plugins = ["pytester"]

PROVIDER = """
import os

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import create_model

FIELD = os.environ.get("STOCK_FIELD", "available")
Stock = create_model("Stock", sku=(str, ...), **{FIELD: (int, ...)})
app = FastAPI(title=os.environ.get("NAME", "stock"))
STOCK: dict[str, int] = {}


@app.get("/readyz", include_in_schema=False)
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.get("/stock/{sku}", response_model=Stock, responses={404: {"description": "unknown"}})
def stock(sku: str) -> dict[str, object]:
    if sku not in STOCK:
        raise HTTPException(404, "unknown sku")
    return {"sku": sku, FIELD: STOCK[sku]}


@app.post("/_test/provider-states", include_in_schema=False)
def state(body: dict) -> dict[str, str]:
    if body["state"] != "sku {sku} has {available} available":
        raise HTTPException(400, "unknown state")
    if body.get("action", "setup") == "setup":
        STOCK[body["params"]["sku"]] = int(body["params"]["available"])
    return {"result": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host=os.environ["HOST"], port=int(os.environ["PORT"]), log_level="warning")
"""


def _project(pytester: pytest.Pytester, field: str) -> Path:
    """A project with a manifest of two services (web calls stock) and the pact between them."""
    root = pytester.path
    (root / "stock_app.py").write_text(PROVIDER)
    service = {"command": [sys.executable, str(root / "stock_app.py")], "readiness": "/readyz"}
    manifest = {
        "version": 1,
        "name": "breakage",
        "services": {
            "stock": {**service, "env": {"STOCK_FIELD": field, "NAME": "stock"}},
            "web": {
                **service,
                "openapi": None,
                "env": {"NAME": "web"},
                "calls": {"stock": {"env": "STOCK_URL"}},
            },
        },
    }
    (root / "fleet.yaml").write_text(yaml.safe_dump(manifest))
    (root / "pyproject.toml").write_text('[tool.harness]\nmanifest = "fleet.yaml"\n')
    states = [
        {"name": "sku {sku} has {available} available", "params": {"sku": "S-1", "available": 5}}
    ]
    pact = pact_document(
        "web",
        "stock",
        http_interaction(
            "a request for stock",
            path="/stock/S-1",
            body={"sku": "S-1", "available": 5},
            states=states,
        ),
    )
    pacts = root / "contracts" / "pacts"
    pacts.mkdir(parents=True)
    (pacts / "web-stock.json").write_text(json.dumps(pact))
    return root


def _baseline(root: Path) -> None:
    """The provider's OpenAPI as it was before anyone renamed anything."""
    spec = importlib.util.spec_from_file_location("stock_app_baseline", root / "stock_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = root / "contracts" / "openapi" / "stock.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(module.app.openapi()))


def _can_i_deploy(root: Path, service: str) -> subprocess.CompletedProcess[str]:
    harness = Path(sys.executable).with_name("harness")
    return subprocess.run(
        [str(harness), "can-i-deploy", service],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.slow
def test_a_provider_that_renames_a_field_fails_naming_it(pytester: pytest.Pytester) -> None:
    root = _project(pytester, field="available")
    _baseline(root)
    # A clean checkout (pytester's own files ignored): the matrix goes to notes on this commit.
    commit_all(root, ignore=["__pycache__/", ".cache/", "runpytest-current", "stdout", "stderr"])
    good = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--contracts")
    good.assert_outcomes(passed=5)  # pact, interaction, openapi drift, breaking changes, coverage
    # The run left the tree as it found it, so its own verification answers for it.
    assert git(root, "status", "--porcelain") == ""
    assert "matrix: 1 verification(s) recorded in refs/notes/harness-contracts" in good.stdout.str()
    deployable = _can_i_deploy(root, "stock")
    assert deployable.returncode == 0, deployable.stdout + deployable.stderr
    assert f"stock @ {git(root, 'rev-parse', '--short=12', 'HEAD')}: deployable" in (
        deployable.stdout
    )

    _project_rename(root)
    junit = root / "junit.xml"
    broken = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--contracts", f"--junitxml={junit}"
    )
    broken.assert_outcomes(passed=2, failed=3)
    text = broken.stdout.str()
    # The verifier's mismatch, readable: type, path, expected and actual.
    assert "web -> stock: a request for stock" in text
    assert "BodyMismatch at $" in text
    assert "Actual map is missing the following keys: available" in text
    assert 'expected: ["available", "sku"]' in text
    assert 'actual:   ["avail", "sku"]' in text
    # The same rename, seen statically and as API evolution.
    assert "field 'available' is not in the schema (documented: avail, sku)" in text
    assert "BREAKING: field removed: GET /stock/{sku} -> 200 body $.available" in text
    cases = {case.get("name"): case for case in ET.parse(junit).iter("testcase")}
    failed = cases["web->stock: a request for stock"]
    assert failed.get("classname") == "contracts.pacts.web-stock.json"
    failure = failed.find("failure")
    assert failure is not None
    assert "BodyMismatch" in (failure.text or "") + (failure.get("message") or "")
    # The failed verification is in the matrix: stock may not ship.
    refused = _can_i_deploy(root, "stock")
    assert refused.returncode == 1
    assert "NO  web->stock (stock provides)" in refused.stdout
    assert "failed: a request for stock" in refused.stdout


def _project_rename(root: Path) -> None:
    manifest = yaml.safe_load((root / "fleet.yaml").read_text())
    manifest["services"]["stock"]["env"]["STOCK_FIELD"] = "avail"
    (root / "fleet.yaml").write_text(yaml.safe_dump(manifest))


def _events_without(field: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A temporary copy of orders' event builders that no longer sends ``field``."""
    source = (ROOT / "sample_services" / "orders" / "events.py").read_text()
    line = f'        "{field}": order.{field},\n'
    assert line in source
    path = tmp_path / "events_copy.py"
    path.write_text(source.replace(line, ""))
    spec = importlib.util.spec_from_file_location("events_copy", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up by name while the module executes.
    monkeypatch.setitem(sys.modules, "events_copy", module)
    spec.loader.exec_module(module)
    return module


class _Order:
    id = "O-500"
    account_id = "ACC-1"
    items = [{"sku": "SKU-1", "quantity": 1, "unit_price_cents": 500}]
    amount_cents = 500


def _producers(events: Any) -> dict[str, Any]:
    def producer(build: Any) -> Any:
        def produce(request: MessageRequest) -> ProducedMessage:
            fields = dict(
                build(_Order(), event_id="3f2c1a9e-8b7d-4c6e-9f10-2a3b4c5d6e7f").stream_fields()
            )
            fields["data"] = json.loads(fields["data"])
            return ProducedMessage(fields, {"stream": events.STREAM, "type": fields["type"]})

        return produce

    return {
        "an OrderConfirmed event": producer(events.order_confirmed),
        "an OrderCancelled event": producer(events.order_cancelled),
    }


def test_an_event_that_loses_a_field_fails_message_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pact = read_pact(PACTS / "shipping-orders.json")
    from sample_services.orders import events

    ok = verify_provider("orders", [pact], provider_url=None, producers=_producers(events))
    assert ok.passed, [r.report for r in ok.results.values()]
    assert ok.reported == 2

    broken = verify_provider(
        "orders",
        [pact],
        provider_url=None,
        producers=_producers(_events_without("amount_cents", tmp_path, monkeypatch)),
    )
    assert not broken.passed
    result = broken.result("shipping", "an OrderConfirmed event")
    assert result is not None
    assert not result.passed
    assert "shipping -> orders: an OrderConfirmed event" in result.report
    assert "BodyMismatch at $.data" in result.report
    assert "amount_cents" in result.report
