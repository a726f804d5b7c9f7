"""The sample fleet's business rules (fleet.md, "Invariants"), as named harness invariants.

Checked through the services' public read APIs over the ids the driver made known
(``skus``, ``accounts``, ``orders``): after every step of the fleet state machine, and by
name as chaos probes (``{invariant: money_conserved}``). They hold at every instant, also
while sagas run: a rule that needs a saga at its end skips orders still on their way.
"""

from __future__ import annotations

from typing import Any

from harness.invariants import InvariantContext, InvariantError, invariant, violated

SETTLED = {"CONFIRMED", "COMPENSATED", "CANCELLED"}


def _orders(ctx: InvariantContext) -> dict[str, dict[str, Any]]:
    return {
        order_id: ctx.get_json("orders", f"/orders/{order_id}") for order_id in ctx.known("orders")
    }


def _payments(ctx: InvariantContext, order_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ctx.get_json("payments", "/payments", order_id=order_id)
    return found


@invariant("stock_conserved")
def stock_conserved(ctx: InvariantContext) -> None:
    """available + reserved + sold == received (initial + restocked); nothing negative."""
    for sku in ctx.known("skus"):
        stock = ctx.get_json("inventory", f"/stock/{sku}")
        counts = {k: stock[k] for k in ("available", "reserved", "sold", "received")}
        negative = [k for k, v in counts.items() if v < 0]
        if negative:
            violated(f"{sku}: negative {', '.join(negative)}: {counts}")
        if counts["available"] + counts["reserved"] + counts["sold"] != counts["received"]:
            violated(f"{sku}: available + reserved + sold != received: {counts}")


# Reads of an account and of its payments are separate requests: a saga charging in
# between (a chaos game-day runs them under load) would look like money lost. The account
# is read before and after its payments, and only a pass in which it did not change is
# judged (a few tries; then the last pass is judged as it stands).
_STABLE_READS = 5


def _fresh(ctx: InvariantContext, service: str, path: str, **params: Any) -> Any:
    response = ctx.get(service, path, **params)
    if response.status_code != 200:
        raise InvariantError(f"GET {service}{path} answered {response.status_code}")
    return response.json()


def _account_snapshot(
    ctx: InvariantContext, account_id: str
) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
    """The account, what was captured from it for the known orders, and those orders,
    read while the account stayed the same."""
    account: dict[str, Any] = {}
    for _ in range(_STABLE_READS):
        before = _fresh(ctx, "payments", f"/accounts/{account_id}")
        orders = [_fresh(ctx, "orders", f"/orders/{o}") for o in ctx.known("orders")]
        mine = [o for o in orders if o["account_id"] == account_id]
        captured = sum(
            payment["amount_cents"]
            for order in mine
            for payment in _fresh(ctx, "payments", "/payments", order_id=order["order_id"])
            if payment["status"] == "CAPTURED"
        )
        account = _fresh(ctx, "payments", f"/accounts/{account_id}")
        if account == before:
            break
    return account, captured, mine


@invariant("money_conserved")
def money_conserved(ctx: InvariantContext) -> None:
    """Per account: balance + captured - refunded == credited, and once its orders have
    settled, the customer paid exactly for the orders confirmed (never twice for one)."""
    for account_id in ctx.known("accounts"):
        account, net, mine = _account_snapshot(ctx, account_id)
        balance, credited = account["balance_cents"], account["credited_cents"]
        if balance < 0:
            violated(f"{account_id}: negative balance {balance}")
        if balance + net != credited:
            violated(f"{account_id}: balance {balance} + captured {net} != credited {credited}")
        if all(o["status"] in SETTLED for o in mine):
            confirmed = sum(o["amount_cents"] for o in mine if o["status"] == "CONFIRMED")
            if net != confirmed:
                violated(f"{account_id}: charged {net} for confirmed orders worth {confirmed}")


@invariant("sagas_consistent")
def sagas_consistent(ctx: InvariantContext) -> None:
    """CONFIRMED => reservation committed and one payment of the amount captured;
    COMPENSATED or CANCELLED => no reservation holds stock and nothing stays charged."""
    for order_id, order in _orders(ctx).items():
        status = order["status"]
        if status not in SETTLED:
            continue
        response = ctx.get("inventory", f"/reservations/{order_id}")
        reservation = response.json()["status"] if response.status_code == 200 else None
        charges = [p for p in _payments(ctx, order_id) if p["status"] == "CAPTURED"]
        amounts = [p["amount_cents"] for p in charges]
        if status == "CONFIRMED":
            if reservation != "COMMITTED":
                violated(f"order {order_id} CONFIRMED, reservation {reservation}")
            if amounts != [order["amount_cents"]]:
                violated(
                    f"order {order_id} CONFIRMED for {order['amount_cents']}, captured {amounts}"
                )
        else:
            if reservation in ("HELD", "COMMITTED"):
                violated(f"order {order_id} {status}, reservation still {reservation}")
            if amounts:
                violated(f"order {order_id} {status}, still captured {amounts}")


# --- eventual rules: they hold once the fleet is quiet (a chaos game-day's recovery) -------
# Registered with eventual=True, so the fuzz state machine (which checks every invariant
# after every step, while sagas run) leaves them out; scenarios name them in `after`.


@invariant("sagas_settled", eventual=True)
def sagas_settled(ctx: InvariantContext) -> None:
    """No saga is stuck: every known order reached CONFIRMED, COMPENSATED or CANCELLED."""
    stuck = {
        o: order["status"] for o, order in _orders(ctx).items() if order["status"] not in SETTLED
    }
    if stuck:
        shown = ", ".join(f"{o} {s}" for o, s in sorted(stuck.items())[:5])
        violated(f"{len(stuck)} order(s) not settled: {shown}")


@invariant("events_delivered", eventual=True)
def events_delivered(ctx: InvariantContext) -> None:
    """Each CONFIRMED order has its shipment (its event arrived and took effect once: a
    shipment per order, by order id); a COMPENSATED one has none."""
    for order_id, order in _orders(ctx).items():
        response = ctx.get("shipping", f"/shipments/{order_id}")
        if order["status"] == "CONFIRMED" and response.status_code != 200:
            violated(f"order {order_id} CONFIRMED but shipping has no shipment")
        if order["status"] == "COMPENSATED" and response.status_code != 404:
            violated(f"order {order_id} COMPENSATED but shipping has a shipment")
