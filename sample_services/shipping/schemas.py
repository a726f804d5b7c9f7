"""Shipping response bodies (shipping has no request bodies)."""

from __future__ import annotations

from pydantic import BaseModel

from sample_services.shipping.models import ShipmentStatus


class ShipmentOut(BaseModel):
    order_id: str
    shipment_id: str
    status: ShipmentStatus
