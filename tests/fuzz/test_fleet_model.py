"""The sample fleet as a state machine: checkout through the gateway against a model.

Hypothesis picks the steps (place an order with or without an Idempotency-Key, replay it,
replay it with another body, cancel it, restock, top up, race two orders for the last unit,
read); after each one the model's prediction is compared with what the services answer,
and the registered invariants (tests/fuzz/invariants.py) are checked through their public
read APIs. Every example starts from a reset fleet (the services' test hooks); a failure
shrinks to the shortest sequence of steps that shows it.

Runs only under ``pytest --fuzz`` (the ``fuzzer`` fixture), against the fuzz session's
fleet, with its seed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, multiple, rule

from harness.fuzz.state_machine import FleetStateMachine, eventually
from harness.pytest.fuzz import Fuzzer
from tests.fuzz import invariants

SKUS = ("sku-a", "sku-b")
ACCOUNTS = ("acct-1", "acct-2")
PRICES = (100, 250, 700)
SETTLED = invariants.SETTLED
# The saga's bound once faults stop; without faults a checkout takes milliseconds, and
# orders' own step deadline (SAGA_STEP_DEADLINE) is 10 s.
SAGA_BOUND = 15.0


@dataclass
class Stock:
    available: int
    received: int
    sold: int = 0


@dataclass
class Account:
    balance: int
    credited: int


@dataclass
class Placed:
    """An order the model placed: what was sent, what came back first, where it ended."""

    order_id: str
    key: str
    body: dict[str, Any]
    first: dict[str, Any]
    status: str
    sku: str
    quantity: int
    account: str
    amount: int

    def __repr__(self) -> str:  # how Hypothesis prints it in a failing sequence
        return f"<order {self.quantity}x{self.sku} for {self.account} ({self.status})>"


@dataclass
class Model:
    stock: dict[str, Stock] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)

    def predict(self, sku: str, quantity: int, account: str, amount: int) -> str:
        # The saga reserves first (all or nothing), then charges (402 if short).
        if self.stock[sku].available < quantity:
            return "COMPENSATED"
        if self.accounts[account].balance < amount:
            return "COMPENSATED"
        return "CONFIRMED"

    def confirm(self, order: Placed) -> None:
        self.stock[order.sku].available -= order.quantity
        self.stock[order.sku].sold += order.quantity
        self.accounts[order.account].balance -= order.amount

    def cancel(self, order: Placed) -> None:
        self.stock[order.sku].available += order.quantity
        self.stock[order.sku].sold -= order.quantity
        self.accounts[order.account].balance += order.amount


class FleetModel(FleetStateMachine):
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()

    # --- helpers -----------------------------------------------------------------------

    def order_body(self, account: str, sku: str, quantity: int, price: int) -> dict[str, Any]:
        return {
            "account_id": account,
            "items": [{"sku": sku, "quantity": quantity, "unit_price_cents": price}],
        }

    def submit(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        response = self.client.post(
            "gateway", "/api/orders", json_body=body, headers={"Idempotency-Key": key}
        )
        assert response.status_code == 202, response.text
        order: dict[str, Any] = response.json()
        assert order["status"] == "PENDING"
        assert response.headers["Location"] == f"/api/orders/{order['order_id']}"
        assert "Idempotent-Replayed" not in response.headers
        self.remember("orders", order["order_id"])
        return order

    def settle(self, order_id: str) -> dict[str, Any]:
        """The order once its saga has ended; failing if that takes longer than the bound."""

        def ended() -> dict[str, Any] | None:
            order: dict[str, Any] = self.client.get("orders", f"/orders/{order_id}").json()
            return order if order["status"] in SETTLED else None

        return eventually(ended, timeout=SAGA_BOUND, what=f"saga of order {order_id} ended")

    def set_stock(self, sku: str, available: int) -> None:
        response = self.client.put(
            "gateway", f"/api/stock/{sku}", json_body={"available": available}
        )
        assert response.status_code == 200, response.text
        stock = self.model.stock.setdefault(sku, Stock(available=0, received=0))
        stock.received += available - stock.available
        stock.available = available
        assert response.json() == {
            "sku": sku,
            "available": stock.available,
            "reserved": 0,
            "sold": stock.sold,
            "received": stock.received,
        }

    def set_balance(self, account: str, balance: int) -> None:
        response = self.client.put(
            "gateway", f"/api/accounts/{account}", json_body={"balance_cents": balance}
        )
        assert response.status_code == 200, response.text
        model = self.model.accounts.setdefault(account, Account(balance=0, credited=0))
        model.credited += balance - model.balance
        model.balance = balance
        assert response.json()["credited_cents"] == model.credited

    # --- rules -------------------------------------------------------------------------

    @initialize(
        stock=st.tuples(*(st.integers(0, 3) for _ in SKUS)),
        balances=st.tuples(*(st.integers(0, 2000) for _ in ACCOUNTS)),
    )
    def open_shop(self, stock: tuple[int, ...], balances: tuple[int, ...]) -> None:
        for sku, available in zip(SKUS, stock, strict=True):
            self.set_stock(sku, available)
        for account, balance in zip(ACCOUNTS, balances, strict=True):
            self.set_balance(account, balance)
        self.remember("skus", *SKUS)
        self.remember("accounts", *ACCOUNTS)

    @rule(
        target=orders,
        account=st.sampled_from(ACCOUNTS),
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 3),
        price=st.sampled_from(PRICES),
    )
    def place_order(self, account: str, sku: str, quantity: int, price: int) -> Placed:
        body = self.order_body(account, sku, quantity, price)
        key = f"model-{uuid.uuid4()}"
        first = self.submit(body, key)
        amount = quantity * price
        expected = self.model.predict(sku, quantity, account, amount)
        settled = self.settle(first["order_id"])
        self.expect(
            settled["status"], expected, f"order {first['order_id']} status", service="orders"
        )
        placed = Placed(
            first["order_id"], key, body, first, expected, sku, quantity, account, amount
        )
        if expected == "CONFIRMED":
            self.model.confirm(placed)
        return placed

    @rule(account=st.sampled_from(ACCOUNTS), sku=st.sampled_from(SKUS))
    def order_without_key(self, account: str, sku: str) -> None:
        body = self.order_body(account, sku, 1, PRICES[0])
        response = self.client.post("gateway", "/api/orders", json_body=body)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "missing_idempotency_key"

    @rule(order=orders)
    def replay_order(self, order: Placed) -> None:
        """Same key, same body: the first answer again, and no second order or charge."""
        response = self.client.post(
            "gateway", "/api/orders", json_body=order.body, headers={"Idempotency-Key": order.key}
        )
        self.expect(response.status_code, 202, "replay status", service="gateway")
        self.expect(response.json(), order.first, "replay body", service="gateway")
        self.expect(
            self.settle(order.order_id)["status"],
            order.status,
            "status after replay",
            service="orders",
        )

    @rule(order=orders, extra=st.integers(1, 2))
    def conflicting_replay(self, order: Placed, extra: int) -> None:
        """Same key, another body: 409, nothing happens."""
        item = order.body["items"][0]
        body = self.order_body(
            order.account, order.sku, item["quantity"] + extra, item["unit_price_cents"]
        )
        response = self.client.post(
            "gateway", "/api/orders", json_body=body, headers={"Idempotency-Key": order.key}
        )
        self.expect(response.status_code, 409, "same key, other body", service="gateway")
        self.expect(
            response.json()["code"], "idempotency_conflict", "problem code", service="gateway"
        )

    @rule(order=orders)
    def cancel(self, order: Placed) -> None:
        response = self.client.post("gateway", f"/api/orders/{order.order_id}/cancel")
        if order.status in ("CONFIRMED", "CANCELLED"):
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "CANCELLED"
            if order.status == "CONFIRMED":
                self.model.cancel(order)
                order.status = "CANCELLED"
        else:
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "order_not_confirmed"

    @rule(sku=st.sampled_from(SKUS), units=st.integers(1, 3))
    def restock(self, sku: str, units: int) -> None:
        self.set_stock(sku, self.model.stock[sku].available + units)

    @rule(account=st.sampled_from(ACCOUNTS), cents=st.sampled_from(PRICES))
    def top_up(self, account: str, cents: int) -> None:
        self.set_balance(account, self.model.accounts[account].balance + cents)

    @rule(
        target=orders,
        sku=st.sampled_from(SKUS),
        account=st.sampled_from(ACCOUNTS),
        price=st.sampled_from(PRICES),
    )
    def race_for_the_last_unit(self, sku: str, account: str, price: int) -> Any:
        """Two orders at once for the one unit left: exactly one gets it."""
        self.set_stock(sku, 1)
        if self.model.accounts[account].balance < 2 * price:
            self.set_balance(account, 2 * price)
        body = self.order_body(account, sku, 1, price)
        keys = [f"race-{uuid.uuid4()}" for _ in range(2)]
        firsts = self.client.concurrently(
            lambda: self.submit(body, keys[0]), lambda: self.submit(body, keys[1])
        )
        ends = [self.settle(first["order_id"])["status"] for first in firsts]
        self.expect(
            sorted(ends), ["COMPENSATED", "CONFIRMED"], "race for the last unit", service="orders"
        )
        placed = [
            Placed(first["order_id"], key, body, first, end, sku, 1, account, price)
            for first, key, end in zip(firsts, keys, ends, strict=True)
        ]
        for order in placed:
            if order.status == "CONFIRMED":
                self.model.confirm(order)
        return multiple(*placed)

    @rule(order=orders)
    def read_order(self, order: Placed) -> None:
        response = self.client.get("gateway", f"/api/orders/{order.order_id}")
        assert response.status_code == 200, response.text
        seen = response.json()
        self.expect(
            (seen["status"], seen["amount_cents"]),
            (order.status, order.amount),
            f"order {order.order_id} (status, amount)",
            service="orders",
        )
        saga = self.client.get("gateway", f"/api/orders/{order.order_id}/saga").json()
        steps = {step["name"]: step["status"] for step in saga["steps"]}
        if order.status in ("CONFIRMED", "CANCELLED"):
            assert {steps[n] for n in ("reserve", "charge", "commit")} == {"SUCCEEDED"}, steps

    @rule(sku=st.sampled_from(SKUS))
    def read_stock(self, sku: str) -> None:
        stock = self.client.get("gateway", f"/api/stock/{sku}").json()
        model = self.model.stock[sku]
        self.expect(
            (stock["available"], stock["reserved"], stock["sold"], stock["received"]),
            (model.available, 0, model.sold, model.received),
            f"stock of {sku} (available, reserved, sold, received)",
            service="inventory",
        )

    @rule(account=st.sampled_from(ACCOUNTS))
    def read_account(self, account: str) -> None:
        seen = self.client.get("gateway", f"/api/accounts/{account}").json()
        model = self.model.accounts[account]
        self.expect(
            (seen["balance_cents"], seen["credited_cents"]),
            (model.balance, model.credited),
            f"account {account} (balance, credited)",
            service="payments",
        )


def test_the_fleet_keeps_its_invariants(fuzzer: Fuzzer) -> None:
    report = fuzzer.run_machine(FleetModel)
    # Every example ran (none was lost to a health check or an exhausted search space).
    assert report.runs >= fuzzer.settings.spec.machine.max_examples
    assert report.invariant_checks > report.runs
    # Which rules and consecutive pairs of rules ran is reported (fuzz.md, terminal summary).
    assert report.coverage["rules"] == len(FleetModel.rule_names())
    assert report.coverage["pairs_exercised"] > 0
