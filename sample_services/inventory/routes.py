"""The inventory HTTP API (see sample_services/README.md, "Public HTTP API")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from sample_services.common import problems
from sample_services.common.db import Database
from sample_services.common.links import link, response_field
from sample_services.inventory import ledger, reservations
from sample_services.inventory.schemas import (
    ID_PATTERN,
    ReservationOut,
    ReservationRequest,
    StockLevel,
    StockOut,
)

SkuPath = Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)]
OrderIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]

# Where an answer leads (OpenAPI links; Schemathesis' stateful phase follows them).
GET_STOCK = link("GET", "/stock/{sku}", "The sku's stock level", sku="sku")
RESERVE_STOCK = link(
    "POST",
    "/reservations",
    "Reserve a unit of the sku for an order",
    request_body={
        "order_id": response_field("sku", "reserve-{}"),
        "items": [{"sku": response_field("sku"), "quantity": 1}],
    },
)
_RESERVATION = "/reservations/{order_id}"
GET_RESERVATION = link("GET", _RESERVATION, "The reservation", order_id="order_id")
RELEASE_RESERVATION = link("DELETE", _RESERVATION, "Return the units to stock", order_id="order_id")
COMMIT_RESERVATION = link(
    "POST", f"{_RESERVATION}/commit", "Turn the held units into sold ones", order_id="order_id"
)
RESERVATION_LINKS = {
    "GetReservation": GET_RESERVATION,
    "CommitReservation": COMMIT_RESERVATION,
    "ReleaseReservation": RELEASE_RESERVATION,
}


def build_router(db: Database) -> APIRouter:
    router = APIRouter(tags=["inventory"])

    @router.get(
        "/stock/{sku}",
        response_model=StockOut,
        summary="Stock level of a sku",
        responses=problems.responses(404, 422, 503),
    )
    def get_stock(sku: SkuPath) -> StockOut:
        return ledger.get_stock(db, sku)

    @router.put(
        "/stock/{sku}",
        response_model=StockOut,
        summary="Create a sku or set its available quantity (the difference is received)",
        responses={
            200: {"links": {"GetStock": GET_STOCK, "ReserveStock": RESERVE_STOCK}},
            **problems.responses(400, 422, 503),
        },
    )
    def put_stock(sku: SkuPath, body: StockLevel) -> StockOut:
        return ledger.set_available(db, sku, body.available)

    @router.post(
        "/reservations",
        response_model=ReservationOut,
        status_code=201,
        summary="Hold stock for an order, all lines or none (idempotent per order_id)",
        responses={
            201: {"links": RESERVATION_LINKS},
            200: {
                "model": ReservationOut,
                "description": "Replay: this order already holds it",
                "links": RESERVATION_LINKS,
            },
            **problems.responses(400, 404, 409, 422, 503),
        },
    )
    def create_reservation(body: ReservationRequest, response: Response) -> ReservationOut:
        created, reservation = reservations.reserve(db, body.order_id, body.items)
        response.status_code = 201 if created else 200
        return reservation

    @router.get(
        "/reservations/{order_id}",
        response_model=ReservationOut,
        summary="An order's reservation",
        responses=problems.responses(404, 422, 503),
    )
    def get_reservation(order_id: OrderIdPath) -> ReservationOut:
        return reservations.get_reservation(db, order_id)

    @router.post(
        "/reservations/{order_id}/commit",
        response_model=ReservationOut,
        summary="Turn held units into sold ones (idempotent)",
        responses={
            200: {
                "links": {
                    "GetReservation": GET_RESERVATION,
                    "ReleaseReservation": RELEASE_RESERVATION,
                }
            },
            **problems.responses(404, 409, 422, 503),
        },
    )
    def commit_reservation(order_id: OrderIdPath) -> ReservationOut:
        return reservations.commit(db, order_id)

    @router.delete(
        "/reservations/{order_id}",
        response_model=ReservationOut,
        summary="Return an order's units to stock (idempotent; an unknown order is tombstoned)",
        responses=problems.responses(422, 503),
    )
    def release_reservation(order_id: OrderIdPath) -> ReservationOut:
        return reservations.release(db, order_id)

    return router
