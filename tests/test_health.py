"""Liveness and readiness (`api.routers.health`): each dependency reported
apart, with real failures: a database dropped under the API, an SMTP address
where nothing listens. And what the routes answer meanwhile: a French 503,
a page for the routes a browser opens."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from educonnect import db
from educonnect.devtools.processes import free_port
from tests.support.settings_env import settings_env

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _client(app) -> httpx.AsyncClient:
    # As a server does: the answer of the handler of unexpected errors is sent (Starlette re-raises after it).
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_ready_when_every_dependency_answers(db_pool, smtp_sink, time_skipping_env):
    from api.app import create_app

    app = create_app()
    app.state.pool, app.state.temporal = db_pool, time_skipping_env.client
    async with await _client(app) as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"
        assert {name: dep["ok"] for name, dep in ready.json()["dependencies"].items()} == {
            "postgresql": True,
            "temporal": True,
            "smtp": True,
        }


async def test_smtp_down_is_reported_without_taking_the_api_out(
    db_pool, smtp_sink, time_skipping_env
):
    from api.app import create_app

    app = create_app()
    app.state.pool, app.state.temporal = db_pool, time_skipping_env.client
    with settings_env(SMTP_URL=f"smtp://127.0.0.1:{free_port()}"):
        async with await _client(app) as client:
            ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["dependencies"]["smtp"]["ok"] is False and body["dependencies"]["smtp"]["error"]
    assert body["dependencies"]["postgresql"]["ok"] and body["dependencies"]["temporal"]["ok"]
    assert "le serveur de courriel" in body["message"]


async def test_database_gone_is_not_ready_but_alive(pg_server, smtp_sink, time_skipping_env):
    from api.app import create_app

    name = f"gone_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_server.get_uri())
    await admin.execute(f'CREATE DATABASE "{name}"')
    pool = await db.create_pool(pg_server.get_uri(name))
    app = create_app()
    app.state.pool, app.state.temporal = pool, time_skipping_env.client
    try:
        async with await _client(app) as client:
            assert (await client.get("/health/ready")).status_code == 200
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            ready = await client.get("/health/ready")
            assert ready.status_code == 503, ready.text
            body = ready.json()
            assert (
                body["status"] == "not_ready" and body["dependencies"]["postgresql"]["ok"] is False
            )
            assert body["dependencies"]["temporal"]["ok"] is True
            assert body["message"].startswith("Indisponible : la base de données")
            live = await client.get("/health")
            assert live.status_code == 200 and live.json() == {"status": "ok"}

            for page in (
                await client.get("/activation/confirmation", params={"jeton": "x" * 43}),
                await client.post("/activation/confirmation", data={"jeton": "x" * 43}),
                await client.get("/recovery/password/link", params={"jeton": "x" * 43}),
                await client.post("/account/email/validation", data={"jeton": "x" * 43}),
            ):
                assert page.status_code == 503 and page.headers["content-type"].startswith(
                    "text/html"
                ), page.text
                assert 'data-code="service_unavailable"' in page.text and "Réessayez" in page.text
            api = await client.post(
                "/sign-in", json={"identifier": "m.dupont", "password": "Soleil2027b"}
            )
            assert api.status_code == 503 and api.json()["code"] == "service_unavailable"
    finally:
        pool.terminate()
        await admin.close()
