"""Prometheus metrics, one registry per service instance (tests run several in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "Requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to serve a request",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.downstream_calls = Counter(
            "downstream_calls_total",
            "Outbound call attempts by outcome",
            ["downstream", "outcome"],
            registry=self.registry,
        )
        self.downstream_retries = Counter(
            "downstream_retries_total",
            "Outbound retries (attempts after the first)",
            ["downstream"],
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "circuit_breaker_state",
            "0 closed, 1 half-open, 2 open",
            ["downstream"],
            registry=self.registry,
        )
        self.bulkhead_rejections = Counter(
            "bulkhead_rejections_total",
            "Calls refused because the bulkhead was full",
            ["downstream"],
            registry=self.registry,
        )
