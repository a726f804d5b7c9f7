"""Payments: account balances, captures and refunds, exactly once per Idempotency-Key."""
