"""What the payments API promises at its edges: strict bodies, an honest OpenAPI, hooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sample_services.payments.app import create_app
from sample_services.payments.settings import PaymentsSettings

PAYMENT = {"order_id": "o-1", "account_id": "A-1", "amount_cents": 100}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({**PAYMENT, "amount_cents": "100"}, id="amount-str"),
        pytest.param({**PAYMENT, "amount_cents": True}, id="amount-bool"),
        pytest.param({**PAYMENT, "amount_cents": 100.5}, id="amount-float"),
        pytest.param({**PAYMENT, "amount_cents": 0}, id="amount-zero"),
        pytest.param({**PAYMENT, "amount_cents": -5}, id="amount-neg"),
        pytest.param({**PAYMENT, "amount_cents": 10**13}, id="amount-huge"),
        pytest.param({**PAYMENT, "currency": "EUR"}, id="extra-field"),
        pytest.param({**PAYMENT, "account_id": 1}, id="account-int"),
        pytest.param({**PAYMENT, "order_id": "o\u00001"}, id="order-nul"),
        pytest.param({"order_id": "o-1", "amount_cents": 100}, id="account-missing"),
    ],
)
def test_payment_bodies_are_strict(hooked_payments: TestClient, body: Any) -> None:
    hooked_payments.put("/accounts/A-1", json={"balance_cents": 1000})

    response = hooked_payments.post("/payments", json=body, headers={"Idempotency-Key": "k"})

    assert response.status_code == 422
    assert hooked_payments.get("/accounts/A-1").json()["balance_cents"] == 1000


@pytest.mark.parametrize("balance", ["10", True, 10.5, -1, None])
def test_balances_are_strict(hooked_payments: TestClient, balance: Any) -> None:
    response = hooked_payments.put("/accounts/A-1", json={"balance_cents": balance})

    assert response.status_code == 422
    assert hooked_payments.get("/accounts/A-1").status_code == 404


def test_an_overlong_idempotency_key_is_400(hooked_payments: TestClient) -> None:
    hooked_payments.put("/accounts/A-1", json={"balance_cents": 1000})

    response = hooked_payments.post(
        "/payments", json=PAYMENT, headers={"Idempotency-Key": "k" * 256}
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_idempotency_key")
    assert hooked_payments.get("/accounts/A-1").json()["balance_cents"] == 1000


def test_openapi_documents_error_statuses_and_hides_test_hooks(tmp_path: Path) -> None:
    settings = PaymentsSettings(database_url=f"sqlite:///{tmp_path / 'p.db'}")
    spec = create_app(settings).openapi()
    paths = spec["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert not [p for p in paths if p.startswith("/_test")]
    assert {"201", "400", "402", "404", "409", "422", "503"} <= statuses("/payments", "post")
    assert {"200", "404", "503"} <= statuses("/payments/{payment_id}/refund", "post")
    assert {"200", "422", "503"} <= statuses("/payments", "get")
    assert {"200", "404", "503"} <= statuses("/accounts/{account_id}", "get")
    post = paths["/payments"]["post"]
    key = {p["name"]: p for p in post["parameters"]}["Idempotency-Key"]
    assert (key["in"], key["required"]) == ("header", True)
    assert post["responses"]["402"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Problem"
    )
    assert all(op.get("summary") for item in paths.values() for op in item.values())


def test_hooks_are_absent_unless_enabled(unhooked_payments: TestClient) -> None:
    assert unhooked_payments.post("/_test/reset").status_code == 404
    state = {"state": "account {account_id} does not exist", "params": {"account_id": "A"}}
    assert unhooked_payments.post("/_test/provider-states", json=state).status_code == 404


def _given(client: TestClient, state: str, **params: Any) -> None:
    response = client.post("/_test/provider-states", json={"state": state, "params": params})
    assert response.status_code == 200, response.text


def test_provider_states_set_up_what_consumers_ask_for(hooked_payments: TestClient) -> None:
    client = hooked_payments

    _given(
        client,
        "account {account_id} has balance {balance_cents}",
        account_id="A-1",
        balance_cents="500",
    )
    assert client.get("/accounts/A-1").json()["balance_cents"] == 500

    _given(
        client,
        "payment {payment_id} for order {order_id} is CAPTURED",
        payment_id="p-1",
        order_id="o-1",
        account_id="A-1",
        amount_cents=200,
        idempotency_key="o-1:charge",
    )
    assert client.get("/payments/p-1").json()["status"] == "CAPTURED"
    assert client.get("/accounts/A-1").json()["balance_cents"] == 500
    replay = client.post(
        "/payments",
        json={"order_id": "o-1", "account_id": "A-1", "amount_cents": 200},
        headers={"Idempotency-Key": "o-1:charge"},
    )
    assert (replay.status_code, replay.json()["payment_id"]) == (201, "p-1")

    _given(
        client,
        "payment {payment_id} for order {order_id} is REFUNDED",
        payment_id="p-2",
        order_id="o-2",
    )
    assert client.get("/payments/p-2").json()["status"] == "REFUNDED"

    _given(client, "order {order_id} has no payments", order_id="o-1")
    assert client.get("/payments", params={"order_id": "o-1"}).json() == []
    assert client.get("/accounts/A-1").json()["balance_cents"] == 700

    _given(client, "account {account_id} does not exist", account_id="A-1")
    assert client.get("/accounts/A-1").status_code == 404

    assert client.post("/_test/reset").status_code == 200
    assert client.get("/payments/p-2").status_code == 404


def test_states_forget_idempotency_keys_between_interactions(hooked_payments: TestClient) -> None:
    client = hooked_payments
    _given(client, "account {account_id} does not exist", account_id="A-1")
    refused = client.post("/payments", json=PAYMENT, headers={"Idempotency-Key": "k"})

    _given(
        client,
        "account {account_id} has balance {balance_cents}",
        account_id="A-1",
        balance_cents=500,
    )
    accepted = client.post("/payments", json=PAYMENT, headers={"Idempotency-Key": "k"})

    assert (refused.status_code, accepted.status_code) == (404, 201)


def test_unknown_state_or_bad_params_are_400(hooked_payments: TestClient) -> None:
    unknown = hooked_payments.post("/_test/provider-states", json={"state": "the moon is full"})
    bad = hooked_payments.post(
        "/_test/provider-states",
        json={
            "state": "account {account_id} has balance {balance_cents}",
            "params": {"account_id": "A", "balance_cents": -1},
        },
    )

    assert (unknown.status_code, unknown.json()["code"]) == (400, "unknown_state")
    assert (bad.status_code, bad.json()["code"]) == (400, "bad_state_params")


def test_an_unreachable_database_gives_503_not_500() -> None:
    # Nothing listens on port 1; without `with`, the lifespan (create_all) is skipped.
    app = create_app(PaymentsSettings(database_url="postgresql://u@127.0.0.1:1/payments"))
    client = TestClient(app)

    ready = client.get("/readyz")
    charge = client.post("/payments", json=PAYMENT, headers={"Idempotency-Key": "k"})

    assert ready.status_code == 503
    assert client.get("/healthz").status_code == 200
    assert (charge.status_code, charge.json()["code"]) == (503, "database_unavailable")
