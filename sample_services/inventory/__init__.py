"""Inventory: stock levels and the reservations orders hold against them."""
