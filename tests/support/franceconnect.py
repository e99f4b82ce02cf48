"""FranceConnect in the tests: providers on loopback and a browser that goes
through the OpenID Connect redirects, as a person's browser would."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import pytest_asyncio

from educonnect.devtools.oidc_provider import ProviderIdentity
from tests.support.settings_env import settings_env

CALLBACK_PATH = "/franceconnect/callback"


def using_provider(discovery_url: str):
    """Point the relying party's settings at this provider for a while."""
    return settings_env(FRANCECONNECT_DISCOVERY_URL=discovery_url)


def new_sub() -> str:
    return f"fc-{uuid.uuid4().hex[:12]}"


def unique_mobile() -> str:
    """A French mobile number (E.164) no other test uses."""
    return f"+3361{random.randint(0, 9_999_999):07d}"


def identity_for(first_name: str, last_name: str, **extra) -> ProviderIdentity:
    """How FranceConnect would name this guardian: all given names, the
    family name in capitals without accents."""
    return ProviderIdentity(
        sub=new_sub(), given_name=f"{first_name} Marie", family_name=last_name.upper(), **extra
    )


def edit_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def to_provider(api: httpx.AsyncClient) -> str:
    """`GET /franceconnect/login`: the authorization URL we are sent to."""
    started = await api.get("/franceconnect/login")
    assert started.status_code == 302, started.text
    return started.headers["location"]


async def provider_answer(authorize_url: str, form: dict[str, str]) -> str:
    """Post the provider's authorization form; the URL it sends us back to."""
    async with httpx.AsyncClient(timeout=10) as browser:
        answer = await browser.post(authorize_url, data=form)
    assert answer.status_code in (302, 303), answer.text[:500]
    return answer.headers["location"]


async def back_to_us(api: httpx.AsyncClient, callback_url: str) -> httpx.Response:
    parts = urlsplit(callback_url)
    assert parts.path == CALLBACK_PATH, callback_url
    return await api.get(f"{CALLBACK_PATH}?{parts.query}")


async def fc_login(
    api: httpx.AsyncClient,
    sub: str,
    *,
    edit_authorize_url: Callable[[str], str] | None = None,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    """The whole dance: our login route, the provider's page, our callback."""
    authorize_url = await to_provider(api)
    if edit_authorize_url:
        authorize_url = edit_authorize_url(authorize_url)
    callback_url = await provider_answer(authorize_url, form or {"sub": sub})
    return await back_to_us(api, callback_url)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fc_temporal():
    """A time-skipping server of the module's own, for tests that never skip
    time (the OpenID Connect exchange): one server and one worker for the
    whole module instead of one per test."""
    from temporalio.testing import WorkflowEnvironment

    from educonnect import search_attributes
    from educonnect.devtools.processes import find_temporal_test_server_binary
    from educonnect.temporal import data_converter

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(),
        test_server_existing_path=str(find_temporal_test_server_binary()),
    )
    await search_attributes.register(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fc_api(fc_temporal, db_pool, smtp_sink, sms_gateway):
    """The real API app in process, with one worker (real activities) for the
    whole module. Use it through `api` (a fresh browser per test)."""
    from api.app import create_app
    from educonnect.settings import get_settings
    from worker import build_worker

    task_queue = f"test-fc-{uuid.uuid4().hex[:8]}"
    os.environ["TASK_QUEUE"] = task_queue
    get_settings.cache_clear()
    async with build_worker(fc_temporal.client, db_pool, task_queue):
        app = create_app()
        app.state.pool = db_pool
        app.state.temporal = fc_temporal.client
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            client.task_queue = task_queue
            yield client


@pytest.fixture
def api(fc_api):
    """A fresh browser (no cookies) on the module's API."""
    from educonnect.settings import get_settings

    fc_api.cookies.clear()
    os.environ["TASK_QUEUE"] = fc_api.task_queue
    get_settings.cache_clear()
    return fc_api


async def linked_to_franceconnect(pool, account_id: uuid.UUID, issuer: str, sub: str) -> None:
    """The account active and linked to this FranceConnect identity (as after a first visit)."""
    await pool.execute("UPDATE accounts SET state = 'active' WHERE id = $1", account_id)
    await pool.execute(
        "INSERT INTO franceconnect_identities (id, issuer, sub, given_name, family_name, acr, "
        "account_id, linked_at) VALUES (gen_random_uuid(), $1, $2, 'Camille', 'FAMILLE', "
        "'eidas1', $3, now())",
        issuer,
        sub,
        account_id,
    )
