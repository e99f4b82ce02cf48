"""The HTTP API: one router per process, French errors with stable codes."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routers import activation, sign_in
from educonnect import db
from educonnect.settings import get_settings
from educonnect.temporal import connect

DESCRIPTION = """
Processus de compte EduConnect (responsables légaux et élèves), chacun porté par
un workflow Temporal durable. Chaque refus renvoie `{"code", "message", "details"}` :
`code` est stable, `message` est en français.
"""


@asynccontextmanager
async def lifespan(app: FastAPI):
    await db.migrate_url()
    app.state.pool = await db.create_pool()
    app.state.temporal = await connect()
    try:
        yield
    finally:
        await app.state.pool.close()


def create_app() -> FastAPI:
    app = FastAPI(title="EduConnect — processus de compte", description=DESCRIPTION, lifespan=lifespan)
    install_error_handlers(app)
    app.include_router(sign_in.router)
    app.include_router(activation.router)
    if get_settings().dev_pages:
        from api.routers import dev

        app.include_router(dev.router)

    @app.get("/health", tags=["Exploitation"], summary="État du service")
    async def health() -> dict:
        await app.state.pool.fetchval("SELECT 1")
        return {"status": "ok"}

    return app


logging.basicConfig(level=logging.INFO)
app = create_app()
