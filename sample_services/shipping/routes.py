"""The shipping HTTP API (see sample_services/README.md, "Public HTTP API")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from sample_services.common import problems
from sample_services.common.db import Database
from sample_services.common.problems import ProblemError
from sample_services.shipping.models import Shipment, ShipmentStatus
from sample_services.shipping.schemas import ShipmentOut

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
OrderIdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]


def build_router(db: Database) -> APIRouter:
    router = APIRouter(tags=["shipping"])

    @router.get(
        "/shipments/{order_id}",
        response_model=ShipmentOut,
        summary="The shipment of an order (created when its OrderConfirmed event arrives)",
        responses=problems.responses(404, 422, 503),
    )
    def get_shipment(order_id: OrderIdPath) -> ShipmentOut:
        with db.session() as session:
            shipment = session.get(Shipment, order_id)
            if shipment is None:
                raise ProblemError(404, "not_found", f"no shipment for order {order_id!r}")
            return ShipmentOut(
                order_id=shipment.order_id,
                shipment_id=shipment.shipment_id,
                status=ShipmentStatus(shipment.status),
            )

    return router
