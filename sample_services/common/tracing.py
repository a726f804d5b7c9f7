"""OpenTelemetry spans with W3C trace context, one tracer provider per service instance."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()


def make_tracer(service: str) -> Tracer:
    # A private provider (not the global one) so several services can live in one test process.
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if os.environ.get("OTEL_TRACES_EXPORTER") == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    return provider.get_tracer(service)


def extract(headers: Mapping[str, str]) -> Context:
    return _propagator.extract(carrier=dict(headers))


def inject(carrier: MutableMapping[str, str]) -> None:
    _propagator.inject(carrier)
