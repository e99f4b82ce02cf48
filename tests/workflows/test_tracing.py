"""Traces (DESIGN §9, educonnect/tracing.py): one trace from the HTTP request
that starts an activation through its workflow to its activity, with the
FastAPI instrumentation and the SDK's tracing interceptor on the real app,
client and worker, spans kept by an in-memory exporter."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client

from educonnect import tracing
from tests.support.families import activation_awaiting_the_click, make_family
from tests.support.mail import Mailbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Soleil2027b"


async def test_one_trace_from_the_request_to_the_activity(
    time_skipping_env, db_pool, smtp_sink, mailbox: Mailbox
):
    from api.app import create_app
    from educonnect.settings import get_settings
    from worker import build_worker

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = time_skipping_env.client.config()
    config["interceptors"] = tracing.temporal_interceptors(provider)
    client = Client(**config)

    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    os.environ["TASK_QUEUE"] = task_queue
    get_settings.cache_clear()
    app = create_app()
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    app.state.pool, app.state.temporal = db_pool, client
    family = await make_family(db_pool)
    transport = httpx.ASGITransport(app=app, client=("127.201.0.1", 123))
    async with (
        build_worker(client, db_pool, task_queue),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        await activation_awaiting_the_click(http, family, NEW_PASSWORD)
        await mailbox.wait_for(family.email, 1)
    FastAPIInstrumentor.uninstrument_app(app)

    spans = exporter.get_finished_spans()
    [request] = [s for s in spans if s.kind == SpanKind.SERVER and s.name == "POST /sign-in"]
    in_trace = [s for s in spans if s.context.trace_id == request.context.trace_id]
    names = {s.name for s in in_trace}
    assert {
        "StartWorkflow:Activation",
        "RunWorkflow:Activation",
        "StartActivity:send_activation_link",
        "RunActivity:send_activation_link",
    } <= names, names
    # One chain: each of them descends from the request's span.
    by_id = {s.context.span_id: s for s in in_trace}

    def ancestors(span) -> set[int]:
        found = set()
        while span.parent is not None and span.parent.span_id in by_id:
            found.add(span.parent.span_id)
            span = by_id[span.parent.span_id]
        return found

    [activity] = [s for s in in_trace if s.name == "RunActivity:send_activation_link"]
    assert request.context.span_id in ancestors(activity)
