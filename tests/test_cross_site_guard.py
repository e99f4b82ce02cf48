"""Changes asked from another site are refused (`api.cross_site_guard`): a
browser's `Sec-Fetch-Site` and `Origin` say where a request comes from; a
state-changing request from elsewhere gets `cross_site_request` (403, French)
and changes nothing. Links opened from an email (GET, cross-site) still work,
and so do clients that are not browsers."""

from __future__ import annotations

import secrets

import httpx
import pytest
import pytest_asyncio

from educonnect import sessions
from educonnect.errors import MESSAGES, ErrorCode
from educonnect.models.corrections import StaffRole
from tests.support.corrections import make_school, make_staff
from tests.support.families import make_family
from tests.support.settings_env import settings_env

pytestmark = pytest.mark.asyncio(loop_scope="session")

FROM_ELSEWHERE = [
    {"sec-fetch-site": "cross-site", "origin": "https://malveillant.example"},
    {"sec-fetch-site": "cross-site"},  # a browser that sends no Origin
    {
        "sec-fetch-site": "same-site",
        "origin": "https://autre.educonnect.example",
    },  # a neighbouring sub-domain
    {"origin": "https://malveillant.example"},  # an older browser: Origin only
    {"origin": "null"},  # a sandboxed frame, a data: page
    {"origin": "null", "sec-fetch-site": "cross-site"},
    {"origin": "http://testserver:8443"},  # our host, another port
]


@pytest_asyncio.fixture(loop_scope="session")
async def make_client(db_pool):
    from api.app import create_app

    def make() -> httpx.AsyncClient:
        app = create_app()
        app.state.pool, app.state.temporal = db_pool, None
        address = (f"10.8.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}", 1)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=address), base_url="http://testserver"
        )

    return make


async def signed_in(db_pool, http: httpx.AsyncClient) -> str:
    family = await make_family(db_pool)
    token = await sessions.open_session(db_pool, family.account_id, "portal")
    http.cookies.set("educonnect_session", token)
    return token


def assert_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "cross_site_request"
    assert answer.json()["message"] == MESSAGES[ErrorCode.CROSS_SITE_REQUEST]
    assert "ouvrez EduConnect" in answer.json()["message"]  # what to do, in French


@pytest.mark.parametrize(
    "headers", FROM_ELSEWHERE, ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items())
)
async def test_a_change_from_another_site_is_refused_and_changes_nothing(
    db_pool, make_client, headers
):
    async with make_client() as http:
        token = await signed_in(db_pool, http)
        assert_refused(await http.post("/sign-out", headers=headers))
        assert_refused(await http.post("/account/email/cancel", headers=headers))
        assert await sessions.find_session(db_pool, token) is not None  # still signed in


async def test_the_same_change_from_our_pages_or_a_client_goes_through(db_pool, make_client):
    same_origin = [
        {"sec-fetch-site": "same-origin", "origin": "http://testserver"},
        {"origin": "http://testserver"},
        {"sec-fetch-site": "none"},  # typed or bookmarked by the person
        # The button of an email link's page (Referrer-Policy: no-referrer): a
        # browser sends Origin: null, and says the form was ours.
        {"sec-fetch-site": "same-origin", "origin": "null"},
        {},  # not a browser: an integrator's server, a script
    ]
    async with make_client() as http:
        for headers in same_origin:
            token = await signed_in(db_pool, http)
            answer = await http.post("/sign-out", headers=headers)
            assert answer.status_code == 200, (headers, answer.text)
            assert await sessions.find_session(db_pool, token) is None


async def test_the_public_address_is_ours_behind_a_proxy(db_pool, make_client):
    """Behind a reverse proxy the Host the app sees may be an internal one:
    PUBLIC_BASE_URL's origin is ours too."""
    with settings_env(PUBLIC_BASE_URL="https://educonnect.example.fr"):
        async with make_client() as http:
            token = await signed_in(db_pool, http)
            answer = await http.post(
                "/sign-out", headers={"origin": "https://educonnect.example.fr"}
            )
            assert answer.status_code == 200
            assert await sessions.find_session(db_pool, token) is None


async def test_sign_in_from_another_site_is_refused_unchecked(db_pool, make_client):
    """Another site cannot sign a visitor in to an account of its choosing
    (login CSRF), nor make a visitor's browser spend a staff member's tries."""
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    async with make_client() as http:
        headers = {"sec-fetch-site": "cross-site", "origin": "https://malveillant.example"}
        assert_refused(await http.post("/staff/sign-in", json={"login": admin.login, "password": admin.password},
                                       headers=headers))  # fmt: skip
        assert "educonnect_staff_session" not in http.cookies
    audited = await db_pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'staff.sign_in' AND (actor_id = $1 OR target_id = $2)",
        admin.id, admin.login,
    )  # fmt: skip
    assert audited == 0  # refused before anything was checked or counted


async def test_opening_an_email_link_from_a_webmail_still_works(make_client):
    """Reading is not changing: the confirmation page opened from a webmail
    (a cross-site navigation) is shown; its button posts from our own page."""
    async with make_client() as http:
        page = await http.get(
            f"/activation/confirmation?jeton={secrets.token_urlsafe(32)}",
            headers={"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"},
        )
        assert page.status_code == 404 and page.headers["content-type"].startswith(
            "text/html"
        )  # an unknown link's page
        assert "Lien inutilisable" in page.text
