"""The codec endpoint (DESIGN §9, api/routers/temporal_codec.py): Temporal's
codec-server contract, for an operator's token or an académie-support
session only, every refusal audited, CORS for the Web UI's origins only."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from educonnect.models.corrections import StaffRole
from educonnect.payload_codec import CODEC_PATH, ENCODING
from educonnect.temporal import data_converter
from tests.support.corrections import make_school, make_staff
from tests.support.settings_env import settings_env

TOKEN = "operateur-" + uuid.uuid4().hex
UI_ORIGIN = "http://127.0.0.1:8233"
PERSONAL = {"identifier": "a.allard", "email": "alix.allard@example.org", "birthdate": "2014-03-09"}


@pytest_asyncio.fixture(loop_scope="session")
async def make_http(db_pool):
    from api.app import create_app

    def make() -> httpx.AsyncClient:
        app = create_app()
        app.state.pool = db_pool
        address = (f"127.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}", 123)
        transport = httpx.ASGITransport(app=app, client=address)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    with settings_env(CODEC_OPERATOR_TOKEN=TOKEN, TEMPORAL_UI_ORIGINS=UI_ORIGIN):
        yield make


async def encrypted_body(*values) -> dict:
    payloads = await data_converter().encode(list(values))
    assert all(p.metadata["encoding"] == ENCODING for p in payloads)
    return json_format.MessageToDict(Payloads(payloads=payloads))


async def values_of(answer: httpx.Response) -> list:
    payloads = json_format.ParseDict(answer.json(), Payloads()).payloads
    return [json.loads(p.data) for p in payloads]


async def refusals(db_pool, since) -> list:
    return await db_pool.fetch(
        "SELECT actor_kind, actor_label, outcome, details FROM audit_log "
        "WHERE action = 'temporal_codec' AND id > $1 ORDER BY id",
        since,
    )


async def test_an_operator_token_decodes_and_encodes(make_http):
    body = await encrypted_body(PERSONAL, "Envoi du lien de confirmation")
    async with make_http() as http:
        decoded = await http.post(
            f"{CODEC_PATH}/decode",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"},
        )
        assert decoded.status_code == 200, decoded.text
        assert await values_of(decoded) == [PERSONAL, "Envoi du lien de confirmation"]
        # /encode gives back what the workers would write: encrypted, decodable.
        plain = decoded.json()
        encoded = await http.post(
            f"{CODEC_PATH}/encode", json=plain, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert encoded.status_code == 200
        again = json_format.ParseDict(encoded.json(), Payloads()).payloads
        assert all(p.metadata["encoding"] == ENCODING for p in again)
        assert await data_converter().decode(again, [dict, str]) == [
            PERSONAL,
            "Envoi du lien de confirmation",
        ]


async def test_an_academie_support_session_decodes(make_http, db_pool):
    school = await make_school(db_pool)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    async with make_http() as http:
        signed = await http.post(
            "/staff/sign-in", json={"login": support.login, "password": support.password}
        )
        assert signed.status_code == 200, signed.text
        decoded = await http.post(f"{CODEC_PATH}/decode", json=await encrypted_body(PERSONAL))
        assert decoded.status_code == 200, decoded.text
        assert await values_of(decoded) == [PERSONAL]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}"],
    ids=["none", "wrong-bearer", "basic"],  # stable: pytest-xdist workers compare ids
)
async def test_a_missing_or_wrong_token_gets_401_and_is_audited(make_http, db_pool, authorization):
    since = await db_pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    headers = {"Authorization": authorization} if authorization else {}
    async with make_http() as http:
        refused = await http.post(
            f"{CODEC_PATH}/decode", json=await encrypted_body(PERSONAL), headers=headers
        )
    assert refused.status_code == 401
    assert refused.json()["code"] == "codec_access_refused"
    assert "alix" not in refused.text
    [entry] = await refusals(db_pool, since)
    assert entry["actor_kind"] == "anonymous" and entry["outcome"] == "refused"
    assert json.loads(entry["details"])["token"] == (
        "missing" if authorization is None else "wrong"
    )


async def test_a_school_administrator_session_is_refused_and_audited(make_http, db_pool):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    since = await db_pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    async with make_http() as http:
        signed = await http.post(
            "/staff/sign-in", json={"login": admin.login, "password": admin.password}
        )
        assert signed.status_code == 200
        refused = await http.post(f"{CODEC_PATH}/decode", json=await encrypted_body(PERSONAL))
    assert refused.status_code == 401
    [entry] = await refusals(db_pool, since)
    assert entry["actor_kind"] == "staff" and admin.login.split("@")[0] not in entry["details"]


async def test_another_namespace_is_not_decoded(make_http):
    async with make_http() as http:
        answer = await http.post(
            f"{CODEC_PATH}/decode",
            json=await encrypted_body(PERSONAL),
            headers={"Authorization": f"Bearer {TOKEN}", "X-Namespace": "other"},
        )
    assert answer.status_code == 404 and answer.json()["code"] == "codec_namespace_unknown"


async def test_cors_for_the_web_ui_origin_only(make_http):
    async with make_http() as http:
        preflight = await http.options(
            f"{CODEC_PATH}/decode",
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
        assert "x-namespace" in preflight.headers["access-control-allow-headers"]
        elsewhere = await http.options(
            f"{CODEC_PATH}/decode",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in elsewhere.headers
        # The browser's call from the Web UI passes the cross-site guard...
        from_ui = await http.post(
            f"{CODEC_PATH}/decode",
            json=await encrypted_body(PERSONAL),
            headers={
                "Origin": UI_ORIGIN,
                "Sec-Fetch-Site": "same-site",
                "Authorization": f"Bearer {TOKEN}",
            },
        )
        assert from_ui.status_code == 200
        assert from_ui.headers["access-control-allow-origin"] == UI_ORIGIN
        # ...one from any other site does not.
        from_elsewhere = await http.post(
            f"{CODEC_PATH}/decode",
            json=await encrypted_body(PERSONAL),
            headers={
                "Origin": "https://evil.example",
                "Sec-Fetch-Site": "cross-site",
                "Authorization": f"Bearer {TOKEN}",
            },
        )
        assert from_elsewhere.status_code == 403
        assert "access-control-allow-origin" not in from_elsewhere.headers


async def test_the_development_stack_opens_it_to_its_web_ui_only(make_http):
    with settings_env(CODEC_OPEN_TO_WEB_UI="true"):
        async with make_http() as http:
            from_ui = await http.post(
                f"{CODEC_PATH}/decode",
                json=await encrypted_body(PERSONAL),
                headers={"Origin": UI_ORIGIN, "Sec-Fetch-Site": "same-site"},
            )
            assert from_ui.status_code == 200
            assert await values_of(from_ui) == [PERSONAL]
            no_origin = await http.post(f"{CODEC_PATH}/decode", json=await encrypted_body(PERSONAL))
            assert no_origin.status_code == 401
