"""Shipping: consumes orders' events from the broker (inbox-deduplicated) into shipments."""
