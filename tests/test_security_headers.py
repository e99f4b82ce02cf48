"""Security headers on every answer (`api.security_headers`): a CSP that
forbids framing, nosniff, a Referrer-Policy (none at all from the pages whose
address holds an email link's token), HSTS in production."""

from __future__ import annotations

import secrets

import httpx
import pytest
import pytest_asyncio

from api.security_headers import TOKEN_PAGES
from educonnect.sms_texts import IDENTIFIER_RECOVERY_PATH
from tests.support.settings_env import settings_env

TOKEN_PAGE_URLS = [f"{path}?jeton={secrets.token_urlsafe(32)}" for path in sorted(TOKEN_PAGES)]


@pytest_asyncio.fixture(loop_scope="session")
async def http(db_pool):
    """The real app, without Temporal (these answers do not need it)."""
    from api.app import create_app

    app = create_app()
    app.state.pool, app.state.temporal = db_pool, None
    transport = httpx.ASGITransport(
        app=app, client=(f"10.9.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}", 1)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def assert_common(answer: httpx.Response) -> None:
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_every_route_taking_a_token_is_a_token_page():
    """A new page opened from an email link cannot be forgotten in TOKEN_PAGES."""
    from api.app import create_app

    paths = create_app().openapi()["paths"]
    taking_token = {
        path for path, operations in paths.items()
        if any(p["name"] == "jeton" and p["in"] == "query" for p in operations.get("get", {}).get("parameters", []))
    }  # fmt: skip
    assert taking_token == TOKEN_PAGES


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("url", TOKEN_PAGE_URLS, ids=lambda url: url.split("?")[0])
async def test_token_pages_send_no_referrer_and_are_not_stored(http, url):
    answer = await http.get(url)  # an unknown token: the page that says so
    assert answer.headers["content-type"].startswith("text/html"), answer.text
    assert_common(answer)
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.asyncio(loop_scope="session")
async def test_other_pages_and_json_answers(http):
    page = await http.get(IDENTIFIER_RECOVERY_PATH)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_common(page)
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "cache-control" not in page.headers

    refusal = await http.get("/staff/me")  # JSON, refused by a dependency
    assert refusal.status_code == 401 and refusal.headers["content-type"] == "application/json"
    assert_common(refusal)
    assert (
        refusal.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    )

    unknown = await http.get("/nulle-part")  # the framework's own 404
    assert unknown.status_code == 404
    assert_common(unknown)

    guarded = await http.get("/staff/me?nom=%00")  # refused by the input guard, before any route
    assert guarded.status_code == 422
    assert_common(guarded)


@pytest.mark.asyncio(loop_scope="session")
async def test_the_api_documentation_keeps_its_scripts_but_cannot_be_framed(http):
    docs = await http.get("/docs")
    assert docs.status_code == 200
    assert_common(docs)
    assert (
        "default-src" not in docs.headers["content-security-policy"]
    )  # Swagger UI comes from its CDN


@pytest.mark.asyncio(loop_scope="session")
async def test_hsts_in_production_only(http):
    assert "strict-transport-security" not in (await http.get(IDENTIFIER_RECOVERY_PATH)).headers
    with settings_env(EDUCONNECT_ENV="production"):
        page = await http.get(IDENTIFIER_RECOVERY_PATH)
        json_answer = await http.get("/staff/me")
    for answer in (page, json_answer):
        assert answer.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
