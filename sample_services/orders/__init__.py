"""Orders: accepts orders and runs the checkout saga (inventory, payments) with an outbox."""
