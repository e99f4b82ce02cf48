"""Traces with OpenTelemetry (DESIGN §9): from the HTTP request (FastAPI's
instrumentation) through the workflow to its activities (the Temporal SDK's
tracing interceptor, on the client that starts or signals a process and on
the worker that runs it; the trace context travels in Temporal headers, which
the payload codec leaves alone and which hold no personal data).

Exported (OTLP over HTTP) only when OTEL_EXPORTER_OTLP_ENDPOINT is set; the
exporter reads the other OTEL_EXPORTER_OTLP_* variables itself.
"""

from __future__ import annotations

from functools import lru_cache

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor

from educonnect.settings import get_settings


@lru_cache
def tracer_provider(service_name: str) -> TracerProvider | None:
    """The process's tracer provider, exporting to the OTLP endpoint; None without one."""
    if not get_settings().otel_exporter_otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def temporal_interceptors(provider: TracerProvider | None) -> list[TracingInterceptor]:
    """The SDK's tracing interceptor on `provider` (none without one). On a
    client it also traces the workers built on that client."""
    if provider is None:
        return []
    return [TracingInterceptor(provider.get_tracer("educonnect.temporal"))]
