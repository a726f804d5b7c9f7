"""The outbox relay: publishes orders' committed outbox rows to the broker, at least once."""
