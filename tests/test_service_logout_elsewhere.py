"""A session that ends another way than « Se déconnecter » ends the school
services' sessions too (DESIGN §10): a new password ends the other sessions
(DESIGN §3.9), and the services signed into through them receive
EduConnect's logout token from the password workflow's activity."""

from __future__ import annotations

import uuid

import httpx
import pytest

from educonnect.devtools.demo_service import DemoService
from educonnect.service_clients import Registration, register
from tests.support.accounts import make_active_account
from tests.support.services import ISSUER

pytestmark = pytest.mark.asyncio(loop_scope="session")

EDUCONNECT = "http://127.0.0.1:8000"


async def test_a_new_password_ends_the_services_of_the_other_sessions(
    time_skipping_env, workflow_worker, db_pool
):
    from api.app import create_app

    app = create_app()
    app.state.pool = db_pool
    app.state.temporal = time_skipping_env.client
    transport = httpx.ASGITransport(app=app, client=(f"10.9.{uuid.uuid4().int % 250}.7", 123))
    account = await make_active_account(db_pool)
    ent = DemoService(ISSUER, client_id=f"ent-{uuid.uuid4().hex[:8]}", provider_transport=transport)
    await ent.start()
    try:
        await register(db_pool, Registration.model_validate(ent.registration()))
        mounts = {EDUCONNECT: transport, ent.url: httpx.AsyncHTTPTransport()}
        async with (
            httpx.AsyncClient(mounts=mounts, follow_redirects=True) as phone,
            httpx.AsyncClient(mounts=mounts, base_url=EDUCONNECT) as laptop,
        ):
            credentials = {"identifier": account.identifier, "password": account.password}
            assert (await phone.post(f"{EDUCONNECT}/sign-in", json=credentials)).status_code == 200
            at_ent = await phone.get(f"{ent.url}/connexion")
            assert "data-signed-in" in at_ent.text and len(ent.sessions) == 1

            assert (await laptop.post("/sign-in", json=credentials)).status_code == 200
            changed = await laptop.post(
                "/account/password",
                json={
                    "current_password": account.password,
                    "new_password": "Nouveau2027x",
                    "new_password_confirmation": "Nouveau2027x",
                },
            )
            assert changed.status_code == 200, changed.text
            assert ent.sessions == {}  # the phone's session ended, and the ENT was told
            [logout] = ent.logouts
            assert logout["aud"] == ent.client_id
            assert "data-signed-out" in (await phone.get(f"{ent.url}/")).text
    finally:
        await ent.stop()
