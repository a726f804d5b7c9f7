"""A state machine over a purpose-built pair (shop -> bank) catches a double charge.

The shop charges the bank once per order; with ``BUGS=double_charge`` an idempotent replay
answers correctly and charges again. No single response is wrong, so only a model of the
fleet sees it: the money invariant breaks, and the shrunk sequence shows the replay.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, rule

from harness.fleet.lifecycle import Fleet
from harness.fuzz.state_machine import FleetBinding, FleetStateMachine, MachineFailed, run_machine
from harness.invariants import InvariantContext, InvariantRegistry, violated

from .conftest import SEED, StartFleet, app_service

pytestmark = pytest.mark.slow

# This test's own rules: the sample fleet's registered invariants are not involved.
rules = InvariantRegistry()


@rules.invariant("money_conserved")
def money_conserved(ctx: InvariantContext) -> None:
    """Each order is charged its amount if PAID, nothing otherwise; accounts balance."""
    charged_total = 0
    for order_id in ctx.known("orders"):
        order = ctx.get_json("shop", f"/orders/{order_id}")
        charged = sum(c["amount"] for c in ctx.get_json("bank", "/charges", order_id=order_id))
        expected = order["amount"] if order["status"] == "PAID" else 0
        if charged != expected:
            violated(f"order {order_id} ({order['status']}, {order['amount']}) charged {charged}")
        charged_total += charged
    for account_id in ctx.known("accounts"):
        account = ctx.get_json("bank", f"/accounts/{account_id}")
        if account["balance"] + charged_total != account["credited"]:
            violated(f"{account_id}: {account}, charged {charged_total}")


class Checkout(FleetStateMachine):
    orders = Bundle("orders")

    @initialize(balance=st.integers(0, 1000))
    def open_account(self, balance: int) -> None:
        response = self.client.put("bank", "/accounts/acct-1", json_body={"balance": balance})
        assert response.status_code == 200
        self.remember("accounts", "acct-1")

    @rule(target=orders, amount=st.integers(1, 300))
    def place_order(self, amount: int) -> dict[str, Any]:
        key = f"k-{uuid.uuid4()}"
        body = {"account_id": "acct-1", "amount": amount}
        response = self.client.post(
            "shop", "/orders", json_body=body, headers={"Idempotency-Key": key}
        )
        assert response.status_code == 201
        self.remember("orders", response.json()["order_id"])
        return {"key": key, "body": body, "first": response.json()}

    @rule(order=orders)
    def replay_order(self, order: dict[str, Any]) -> None:
        response = self.client.post(
            "shop", "/orders", json_body=order["body"], headers={"Idempotency-Key": order["key"]}
        )
        assert response.status_code == 201
        assert response.json() == order["first"]  # the answer is right: only money tells


def shop_and_bank(start_fleet: StartFleet, bugs: str = "") -> Fleet:
    return start_fleet(
        {
            "bank": app_service("bank"),
            "shop": app_service("shop", env={"BUGS": bugs}, calls={"bank": {"env": "BANK_URL"}}),
        }
    )


def binding(fleet: Fleet) -> FleetBinding:
    return FleetBinding(
        urls={name: fleet.url(name) for name in fleet.services},
        reset=["shop", "bank"],
        registry=rules,
    )


def test_a_double_charge_on_replay_breaks_the_money_invariant(start_fleet: StartFleet) -> None:
    fleet = shop_and_bank(start_fleet, bugs="double_charge")

    with pytest.raises(MachineFailed) as failed:
        run_machine(Checkout, binding(fleet), seed=SEED, max_examples=30, steps=8)

    error = failed.value
    assert "money_conserved: violated" in str(error)
    assert "charged" in str(error)
    # Shrunk to the minimal story: one order, then its replay.
    steps = error.steps
    assert len(steps) == 5, steps
    assert steps[0] == "state = Checkout()"
    assert steps[1].startswith("state.open_account(balance=")
    assert steps[2].startswith("orders_0 = state.place_order(amount=")
    assert steps[3] == "state.replay_order(order=orders_0)"
    assert steps[4] == "state.teardown()"
    assert "\n".join(f"    {step}" for step in steps) in str(error)
    assert f"seed {SEED.value}" in str(error)


def test_the_correct_shop_keeps_the_invariant(start_fleet: StartFleet) -> None:
    fleet = shop_and_bank(start_fleet)

    report = run_machine(Checkout, binding(fleet), seed=SEED, max_examples=20, steps=6)

    assert report.runs >= 20
    assert report.invariant_checks > report.runs  # checked after steps, not only at start
