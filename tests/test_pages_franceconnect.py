"""The FranceConnect pages in process, without a browser (the walk in
Chromium is tests/e2e/test_pages_franceconnect_browser_e2e.py): a browser
(it asks for HTML) sent back by the provider is redirected to pages, the JSON
API's clients still get JSON; cancelled and unreachable FranceConnect said on
a French page leading back to `/`; the first visit's pages follow the
workflow's step, up to the blocked page and its correction; the portal's
cards and account menu; sign-out from the pages, through FranceConnect's
end_session for a session opened there."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from educonnect import policies
from educonnect.devtools.oidc_provider import LoopbackOidcProvider
from educonnect.errors import MESSAGES, ErrorCode
from tests.support.families import make_family
from tests.support.franceconnect import (  # noqa: F401 (fixtures)
    api,
    fc_api,
    fc_temporal,
    identity_for,
    linked_to_franceconnect,
    provider_answer,
    to_provider,
    using_provider,
)
from tests.support.sms import SmsOutbox, code_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIRST_VISIT = "/franceconnect/premiere-connexion"


@pytest.fixture(scope="module")
def provider():
    with LoopbackOidcProvider() as loopback:
        yield loopback


@pytest.fixture
def via_provider(provider):
    with using_provider(provider.discovery_url):
        yield provider


async def back_as_a_browser(api: httpx.AsyncClient, sub: str | None = None, **form) -> str:
    """Our FranceConnect button, the provider's page, our callback, as a
    browser asks for them: where the callback sends the browser."""
    started = await api.get("/franceconnect/login", headers=HTML)
    assert started.status_code == 302, started.text
    callback = await provider_answer(started.headers["location"], form or {"sub": sub or ""})
    parts = urlsplit(callback)
    back = await api.get(f"{parts.path}?{parts.query}", headers=HTML)
    assert back.status_code == 303, back.text
    return back.headers["location"]


async def page_at(api: httpx.AsyncClient, path: str) -> httpx.Response:
    page = await api.get(path, headers=HTML)
    assert page.status_code == 200, (path, page.status_code, page.headers.get("location"))
    return page


async def post_form(api: httpx.AsyncClient, page_path: str, action: str, **fields) -> str:
    """The form of the page at `page_path` posted (its CSRF token): where it redirects."""
    token = CSRF.search((await page_at(api, page_path)).text).group(1)
    posted = await api.post(action, data={"csrf_token": token, **fields}, headers=HTML)
    assert posted.status_code == 303, posted.text
    return posted.headers["location"]


async def test_cancelled_at_franceconnect_is_a_french_page_leading_home(api, via_provider):
    went = await back_as_a_browser(api, cancel="1")
    assert went == "/franceconnect/connexion-impossible?motif=franceconnect_cancelled"
    page = await page_at(api, went)
    assert "Connexion avec FranceConnect annulée" in page.text
    assert 'data-code="franceconnect_cancelled"' in page.text
    assert MESSAGES[ErrorCode.FRANCECONNECT_CANCELLED].replace("'", "&#39;") in page.text
    assert 'href="/"' in page.text and "Retour à l’accueil" in page.text
    assert "fr-connect" in page.text  # and FranceConnect again


async def test_franceconnect_unreachable_from_its_button_is_a_french_page(api):
    with using_provider("http://127.0.0.1:9/.well-known/openid-configuration"):
        started = await api.get("/franceconnect/login", headers=HTML)
        json_client = await api.get("/franceconnect/login")
    assert started.status_code == 303
    page = await page_at(api, started.headers["location"])
    assert "FranceConnect est momentanément indisponible" in page.text
    assert 'data-code="franceconnect_unavailable"' in page.text
    # The JSON API's clients keep their answer.
    assert json_client.status_code == 503
    assert json_client.json()["code"] == "franceconnect_unavailable"


async def test_an_unknown_reason_is_said_as_a_refused_sign_in(api):
    page = await page_at(api, "/franceconnect/connexion-impossible?motif=<script>")
    assert 'data-code="franceconnect_denied"' in page.text and "<script>" not in page.text


async def test_first_visit_pages_follow_the_step_up_to_the_blocked_page(
    api, db_pool, via_provider, sms_gateway
):
    family = await make_family(db_pool)
    guardian = await db_pool.fetchrow(
        "SELECT first_name, last_name, mobile FROM guardians WHERE id = $1", family.guardian_id
    )
    identity = identity_for(guardian["first_name"], guardian["last_name"])
    via_provider.add_identity(identity)
    outbox = SmsOutbox(sms_gateway.outbox_path)

    assert await back_as_a_browser(api, identity.sub) == FIRST_VISIT
    assert (await api.get(FIRST_VISIT)).headers["location"] == f"{FIRST_VISIT}/mobile"
    mobile_page = await page_at(api, f"{FIRST_VISIT}/mobile")
    assert "Étape 1 sur 3" in mobile_page.text and 'autocomplete="tel"' in mobile_page.text
    # A page of a step not reached sends to the page of the step.
    assert (await api.get(f"{FIRST_VISIT}/date-de-naissance")).headers[
        "location"
    ] == f"{FIRST_VISIT}/mobile"

    # An unreadable number: at its field, typed value kept.
    went = await post_form(api, f"{FIRST_VISIT}/mobile", f"{FIRST_VISIT}/mobile", mobile="12")
    assert went == f"{FIRST_VISIT}/mobile"
    refused = await page_at(api, went)
    assert 'data-code="phone_invalid"' in refused.text and 'value="12"' in refused.text

    sent_before = len(outbox.to(guardian["mobile"]))
    went = await post_form(
        api, f"{FIRST_VISIT}/mobile", f"{FIRST_VISIT}/mobile", mobile="06 12 34 56 78"
    )
    assert went == f"{FIRST_VISIT}/code"
    code_page = await page_at(api, went)
    assert "Étape 2 sur 3" in code_page.text
    assert (
        'autocomplete="one-time-code"' in code_page.text and 'inputmode="numeric"' in code_page.text
    )
    assert "Renvoyer le code" in code_page.text and "Modifier le numéro" in code_page.text
    sms = (await outbox.wait_for(guardian["mobile"], sent_before + 1))[-1]
    # "Renvoyer le code" at once: refused above the form, with the time to wait.
    again = await post_form(api, went, f"{FIRST_VISIT}/code/renvoyer")
    assert again == f"{FIRST_VISIT}/code"
    too_soon = await page_at(api, again)
    assert 'data-code="sms_resend_too_soon"' in too_soon.text
    # A code of letters: at its field, nothing sent to the process.
    assert await post_form(api, went, f"{FIRST_VISIT}/code", code="abcdef") == went
    assert "Le code est composé de 6 chiffres." in (await page_at(api, went)).text
    went = await post_form(api, went, f"{FIRST_VISIT}/code", code=code_in(sms))
    assert went == f"{FIRST_VISIT}/date-de-naissance"

    for left in (2, 1):
        went = await post_form(
            api, went, f"{FIRST_VISIT}/date-de-naissance", child_birthdate="01/01/2001"
        )
        page = await page_at(api, went)
        assert f"Il vous reste {left} essai" in page.text
        assert 'data-code="birthdate_incorrect"' in page.text
    went = await post_form(
        api, went, f"{FIRST_VISIT}/date-de-naissance", child_birthdate="01/01/2001"
    )
    assert went == f"{FIRST_VISIT}/date-de-naissance-bloquee"
    blocked = await page_at(api, went)
    assert 'data-code="birthdate_blocked"' in blocked.text and "Étape 3 sur 3" in blocked.text
    link_id = await db_pool.fetchval(
        "SELECT l.id FROM franceconnect_links l JOIN franceconnect_identities i "
        "ON i.id = l.identity_id WHERE i.sub = $1",
        identity.sub,
    )
    correction = "/franceconnect/premiere-connexion/correction-date-de-naissance"
    assert f'href="{correction}"' in blocked.text
    # The browser's cookie reaches the form's page, and the JSON form as before.
    assert 'name="proposed_birthdate"' in (await api.get(correction)).text
    assert (await api.get(f"/franceconnect/link/{link_id}/correction")).status_code == 200
    # Coming back through FranceConnect resumes there.
    assert await back_as_a_browser(api, identity.sub) == FIRST_VISIT
    assert (await api.get(FIRST_VISIT)).headers["location"] == went


async def test_too_many_wrong_codes_end_the_first_visit_on_its_page(api, db_pool, via_provider):
    family = await make_family(db_pool)
    guardian = await db_pool.fetchrow(
        "SELECT first_name, last_name FROM guardians WHERE id = $1", family.guardian_id
    )
    identity = identity_for(guardian["first_name"], guardian["last_name"])
    via_provider.add_identity(identity)
    assert await back_as_a_browser(api, identity.sub) == FIRST_VISIT
    code_page = await post_form(
        api, f"{FIRST_VISIT}/mobile", f"{FIRST_VISIT}/mobile", mobile="06 12 34 56 78"
    )
    went = code_page
    for _ in range(policies.SMS_CODE_MAX_FAILURES):
        assert went == code_page
        went = await post_form(api, code_page, f"{FIRST_VISIT}/code", code="000000")
    assert went == f"{FIRST_VISIT}/terminee"
    ended = await page_at(api, went)
    assert "Première connexion interrompue" in ended.text
    assert 'data-code="sms_code_locked"' in ended.text
    assert 'href="/"' in ended.text and "fr-connect" in ended.text
    # Its step pages now lead there.
    assert (await api.get(f"{FIRST_VISIT}/code")).headers["location"] == went


async def test_first_visit_pages_without_the_browser_that_came_back(api):
    went = await api.get(f"{FIRST_VISIT}/code", headers=HTML)
    assert went.status_code == 303
    assert went.headers["location"].endswith("motif=franceconnect_link_not_found")


async def test_portal_cards_account_menu_and_sign_out_through_franceconnect(
    api, db_pool, via_provider
):
    family = await make_family(db_pool)
    identity = identity_for("Camille", "Famille")
    via_provider.add_identity(identity)
    await linked_to_franceconnect(db_pool, family.account_id, via_provider.issuer, identity.sub)
    # A later visit: straight to the portal.
    assert await back_as_a_browser(api, identity.sub) == "/portail"
    portal = await page_at(api, "/portail")
    assert portal.text.count("data-child") == 2
    assert 'class="fr-card' in portal.text and "Collège Test, Lyon" in portal.text
    assert 'aria-label="Mon compte"' in portal.text and 'href="/mon-compte"' in portal.text
    assert "Se déconnecter" in portal.text

    went = await post_form(api, "/portail", "/deconnexion")
    assert went.startswith(via_provider.issuer + "/session/end?")
    assert api.cookies.get("educonnect_fc_logout") and not api.cookies.get("educonnect_session")


async def test_sign_out_of_a_password_session_says_so_on_the_home_page(api, db_pool):
    family = await make_family(db_pool)
    await db_pool.execute("UPDATE accounts SET state = 'active' WHERE id = $1", family.account_id)
    from educonnect import sessions

    token = await sessions.open_session(db_pool, family.account_id, "portal")
    api.cookies.set("educonnect_session", token)
    assert (await page_at(api, "/portail")).status_code == 200
    went = await post_form(api, "/portail", "/deconnexion")
    assert went == "/"
    home = await page_at(api, "/")
    assert "Vous êtes déconnecté." in home.text
    assert (await api.get("/portail")).status_code == 303
