"""« Mon compte » pages in process, without a browser (the walk is in
tests/e2e/test_pages_account_browser_e2e.py): no session sends home saying
why; a change asked with an old sign-in leads to "Confirmer mon identité"
and nothing starts; that page leads back only to our own pages; a child not
attached, or a form without its CSRF token, changes nothing."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from api.web import paths
from educonnect.errors import MESSAGES, ErrorCode
from tests.support.accounts import make_active_account

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def signed_in(api: httpx.AsyncClient, db_pool):
    account = await make_active_account(db_pool)
    api.cookies.clear()
    token = CSRF.search((await api.get("/")).text).group(1)
    posted = await api.post(
        "/connexion",
        data={"identifier": account.identifier, "password": account.password, "csrf_token": token},
    )
    assert posted.headers["location"] == paths.PORTAL, posted.text
    return account


async def csrf_of(api: httpx.AsyncClient, path: str) -> str:
    page = await api.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


async def test_the_pages_without_a_session_send_home_with_the_reason(api):
    pages = [
        paths.MY_ACCOUNT,
        paths.MY_ACCOUNT_EMAIL,
        paths.MY_ACCOUNT_PASSWORD,
        paths.MY_ACCOUNT_MERGE,
        paths.MY_ACCOUNT_SIGN_IN_AGAIN,
        paths.MY_ACCOUNT_NOT_MY_CHILD.format(pupil_id=uuid.uuid4()),
    ]
    for page in pages:
        api.cookies.clear()
        answer = await api.get(page)
        assert answer.status_code == 303 and answer.headers["location"] == paths.HOME, page
        assert 'data-code="session_required"' in (await api.get(paths.HOME)).text


async def test_a_change_with_an_old_sign_in_asks_the_password_again_and_starts_nothing(
    api, db_pool
):
    account = await signed_in(api, db_pool)
    token = await csrf_of(api, paths.MY_ACCOUNT_EMAIL)
    await db_pool.execute(
        "UPDATE sessions SET created_at = now() - interval '16 minutes' WHERE account_id = $1",
        account.account_id,
    )
    page = (await api.get(paths.MY_ACCOUNT_EMAIL)).text
    assert 'data-code="recent_sign_in_required"' in page and 'name="email"' not in page
    new = f"autre.{uuid.uuid4().hex[:8]}@example.org"
    posted = await api.post(
        paths.MY_ACCOUNT_EMAIL, data={"email": new, "email_confirmation": new, "csrf_token": token}
    )
    assert posted.status_code == 303
    assert (
        posted.headers["location"]
        == "/mon-compte/confirmer-mon-identite?suite=%2Fmon-compte%2Fadresse"
    )
    again = (await api.get(posted.headers["location"])).text
    assert 'data-code="recent_sign_in_required"' in again
    assert MESSAGES[ErrorCode.RECENT_SIGN_IN_REQUIRED].replace("'", "&#39;") in again
    assert account.identifier in again
    assert (await api.get("/account")).json()["pending_email_change"] is None  # nothing started

    # A wrong password: said at its field; the right one: back to the page, recent again.
    back = posted.headers["location"]
    refused = await api.post(back, data={"password": "Mauvais27x", "csrf_token": token})
    assert refused.headers["location"] == back
    assert 'data-code="invalid_credentials"' in (await api.get(back)).text
    confirmed = await api.post(back, data={"password": account.password, "csrf_token": token})
    assert confirmed.headers["location"] == paths.MY_ACCOUNT_EMAIL
    page = (await api.get(paths.MY_ACCOUNT_EMAIL)).text
    assert "Votre identité est confirmée" in page and 'name="email"' in page


async def test_sign_in_again_leads_back_only_to_our_pages(api, db_pool):
    account = await signed_in(api, db_pool)
    token = await csrf_of(api, paths.MY_ACCOUNT)
    confirmed = await api.post(
        f"{paths.MY_ACCOUNT_SIGN_IN_AGAIN}?suite=https://ailleurs.example/piege",
        data={"password": account.password, "csrf_token": token},
    )
    assert confirmed.headers["location"] == paths.MY_ACCOUNT


async def test_not_my_child_changes_nothing_without_its_token_or_for_another_child(api, db_pool):
    account = await signed_in(api, db_pool)
    children = (await api.get("/portal")).json()["children"]
    pupil_id = children[0]["pupil_id"]
    page = paths.MY_ACCOUNT_NOT_MY_CHILD.format(pupil_id=pupil_id)
    token = await csrf_of(api, page)

    posted = await api.post(page, data={"reason": "unknown_child"})  # no CSRF token
    assert 'data-code="form_expired"' in (await api.get(posted.headers["location"])).text
    stranger = paths.MY_ACCOUNT_NOT_MY_CHILD.format(pupil_id=uuid.uuid4())
    posted = await api.post(stranger, data={"reason": "unknown_child", "csrf_token": token})
    assert posted.headers["location"] == paths.MY_ACCOUNT
    assert 'data-code="child_not_attached"' in (await api.get(paths.MY_ACCOUNT)).text
    assert len((await api.get("/portal")).json()["children"]) == len(children)

    posted = await api.post(page, data={"reason": "other", "csrf_token": token})
    assert posted.headers["location"] == paths.MY_ACCOUNT_NOT_MY_CHILD_DONE
    assert len((await api.get("/portal")).json()["children"]) == len(children) - 1
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM attachment_disputes WHERE account_id = $1 AND pupil_id = $2",
            account.account_id,
            uuid.UUID(pupil_id),
        )
        == 1
    )
