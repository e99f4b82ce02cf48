"""The HTTP API: one router per process, French errors with stable codes."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import REGISTRY
from prometheus_fastapi_instrumentator import Instrumentator

from api import access_log
from api.cross_site_guard import CrossSiteGuard
from api.errors import REFUSAL_RESPONSES, install_error_handlers
from api.input_guard import InputGuard
from api.routers import (
    account,
    activation,
    assistance,
    franceconnect,
    health,
    merge,
    portal,
    provisioning,
    pupil_activation,
    recovery,
    registration,
    service_sign_in,
    sign_in,
    staff_accounts,
    staff_corrections,
    staff_session,
    staff_tickets,
    temporal_codec,
)
from api.security_headers import SecurityHeaders
from api.web import account as account_pages
from api.web import activation as activation_pages
from api.web import assistance as assistance_pages
from api.web import franceconnect as franceconnect_pages
from api.web import home as home_pages
from api.web import pupil_activation as pupil_activation_pages
from api.web import recovery as recovery_pages
from api.web import registration as registration_pages
from api.web import staff as staff_pages
from api.web.forms import STATIC_DIR
from educonnect import db, service_clients, tracing
from educonnect.franceconnect import check_provider_scopes
from educonnect.metrics import CorrectionsWaiting, MetricsServer
from educonnect.production_mode import require_production_ready
from educonnect.settings import get_settings
from educonnect.temporal import connect

SERVICE_NAME = "educonnect-api"  # in traces

DESCRIPTION = """
Processus de compte EduConnect (responsables légaux et élèves), chacun porté par
un workflow Temporal durable. Chaque refus renvoie `{"code", "message", "details"}` :
`code` est stable, `message` est en français.
"""


@asynccontextmanager
async def lifespan(app: FastAPI):
    require_production_ready()  # however the app is served (api/__main__.py checks first)
    await check_provider_scopes()  # FRANCECONNECT_SCOPES must be the provider's scope names
    await db.migrate_url()
    app.state.pool = await db.create_pool()
    await service_clients.register_from_settings(app.state.pool, get_settings().service_clients)
    app.state.temporal = await connect(
        interceptors=tracing.temporal_interceptors(tracing.tracer_provider(SERVICE_NAME))
    )
    settings = get_settings()
    corrections = CorrectionsWaiting(app.state.pool, asyncio.get_running_loop())
    REGISTRY.register(corrections)
    metrics_server = MetricsServer(settings.metrics_host, settings.api_metrics_port)
    try:
        yield
    finally:
        metrics_server.close()
        REGISTRY.unregister(corrections)
        await app.state.pool.close()


def create_app() -> FastAPI:
    app = FastAPI(
        title="EduConnect — processus de compte",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=REFUSAL_RESPONSES,
    )
    install_error_handlers(app)
    access_log.install()
    # HTTP metrics (served on API_METRICS_PORT, not here) and traces (when exported).
    Instrumentator(excluded_handlers=["/health.*", "/static.*"]).instrument(app)
    if provider := tracing.tracer_provider(SERVICE_NAME):
        FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    # The last added runs first: headers on every answer, then the cross-site
    # check before anything reads the body.
    app.add_middleware(InputGuard)
    app.add_middleware(CrossSiteGuard)
    app.add_middleware(SecurityHeaders)
    app.include_router(health.router)
    app.include_router(sign_in.router)
    app.include_router(activation.router)
    app.include_router(pupil_activation.router)
    app.include_router(portal.router)
    app.include_router(registration.router)
    app.include_router(franceconnect.router)
    app.include_router(assistance.router)
    app.include_router(staff_session.router)
    app.include_router(staff_corrections.router)
    app.include_router(staff_tickets.router)
    app.include_router(account.router)
    app.include_router(recovery.router)
    app.include_router(provisioning.router)
    app.include_router(merge.router)
    app.include_router(merge.staff_router)
    app.include_router(staff_accounts.router)
    app.include_router(service_sign_in.router)
    app.include_router(temporal_codec.router)
    # The pages (api/web/): French addresses beside the JSON API's, and their static files.
    app.include_router(home_pages.router)
    app.include_router(activation_pages.router)
    app.include_router(pupil_activation_pages.router)
    app.include_router(registration_pages.router)
    app.include_router(franceconnect_pages.router)
    app.include_router(account_pages.router)
    app.include_router(recovery_pages.router)
    app.include_router(assistance_pages.router)
    staff_pages.install(app)  # the back-office, under /gestion
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if get_settings().dev_pages:
        from api.routers import dev

        app.include_router(dev.router)

    return app


logging.basicConfig(level=logging.INFO)
app = create_app()
