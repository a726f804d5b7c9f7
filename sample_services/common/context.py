"""Per-request context carried into logs and outbound calls."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)
trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)
