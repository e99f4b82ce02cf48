"""The pupil's activation pages and the SMS registration pages in process,
without a browser: what the browser walks
(tests/e2e/test_pages_pupil_sms_browser_e2e.py) do not reach — the blocked
pages and their correction forms, the typed address ignored by "Continuer
sans adresse", the attempt bound to its browser, the same pages whether or
not the names and number matched."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from tests.support.pupils import make_pupil
from tests.support.sms import SmsOutbox
from tests.test_pages import CSRF, csrf_of, follow
from tests.workflows.test_sms_registration import make_guardian, national, wait_for_code

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def pupil_signed_in(api: httpx.AsyncClient, db_pool):
    pupil = await make_pupil(db_pool)
    api.cookies.clear()
    token = await csrf_of(api, "/")
    signed_in = await api.post(
        "/connexion",
        data={
            "identifier": pupil.identifier,
            "password": pupil.provisional_password,
            "csrf_token": token,
        },
    )
    assert signed_in.headers["location"] == "/activation-eleve/gerer-mon-compte"
    return pupil, token


async def test_a_pupil_blocked_on_their_birthdate_is_led_to_their_correction_form(api, db_pool):
    pupil, token = await pupil_signed_in(api, db_pool)
    for left in (2, 1, 0):
        posted = await api.post(
            "/activation-eleve/gerer-mon-compte",
            data={
                "password": "Cartable26x",
                "password_confirmation": "Cartable26x",
                "birthdate": "01/01/2001",
                "csrf_token": token,
            },
        )
        if left:
            html = (await follow(api, posted)).text
            assert f"Il vous reste {left} essai" in html
            assert 'data-code="birthdate_incorrect"' in html
    assert posted.headers["location"] == "/activation-eleve/date-de-naissance-bloquee"
    html = (await follow(api, posted)).text
    assert 'data-code="birthdate_blocked"' in html
    assert 'href="/activation-eleve/correction-date-de-naissance"' in html
    assert (await api.get("/pupil-activation/correction")).status_code == 200
    # Any other step's page leads back to the blocked one.
    other = await api.get("/activation-eleve/gerer-mon-compte")
    assert other.headers["location"] == "/activation-eleve/date-de-naissance-bloquee"


async def test_continuer_sans_adresse_ignores_the_typed_address(api, db_pool):
    pupil, token = await pupil_signed_in(api, db_pool)
    form = {
        "password": "Trousse27y",
        "password_confirmation": "Trousse27y",
        "birthdate": pupil.birthdate.strftime("%d/%m/%Y"),
        "email": "eleve@example.fr",
        "email_confirmation": "autre@example.fr",
        "csrf_token": token,
    }
    refused = await api.post("/activation-eleve/gerer-mon-compte", data=form)
    html = (await follow(api, refused)).text
    assert 'data-code="email_mismatch"' in html
    assert 'value="eleve@example.fr"' in html and "Trousse27y" not in html

    done = await api.post("/activation-eleve/gerer-mon-compte", data=form | {"sans_adresse": "1"})
    assert done.headers["location"] == "/activation-eleve/terminee"
    html = (await follow(api, done)).text
    assert "data-recovery-notice" in html and "Étape 3 sur 3" in html
    account = await db_pool.fetchrow(
        "SELECT state, email FROM accounts WHERE id = $1", pupil.account_id
    )
    assert account["state"] == "active" and account["email"] is None


async def registration_started(http: httpx.AsyncClient, last_name: str, first_name: str, mobile):
    token = await csrf_of(http, "/inscription")
    started = await http.post(
        "/inscription",
        data={
            "last_name": last_name,
            "first_name": first_name,
            "mobile": mobile,
            "csrf_token": token,
        },
    )
    assert started.status_code == 303, started.text
    code_page = started.headers["location"]
    assert re.fullmatch(r"/inscription/[0-9a-f-]{36}/code", code_page), code_page
    return code_page, token


def without_ids(html: str) -> str:
    """A page's words, apart from what differs between any two attempts."""
    html = CSRF.sub("", html)
    html = re.sub(r"[0-9a-f-]{36}", "ID", html)
    return re.sub(r"\d+", "N", html)


async def test_the_registration_pages_do_not_tell_whether_the_number_matched(
    sms_gateway, api, make_client, db_pool
):
    guardian = await make_guardian(db_pool)
    matched = make_client()
    unknown = make_client()
    async with matched, unknown:
        page, _ = await registration_started(
            matched, guardian.last_name, guardian.first_name, national(guardian.mobile)
        )
        other, _ = await registration_started(unknown, "Personne", "Inconnue", "06 99 98 97 95")
        await wait_for_code(SmsOutbox(sms_gateway.outbox_path), guardian)
        seen = []
        for http, url in ((matched, page), (unknown, other)):
            for _ in range(100):  # until the code step ran (the code is "on its way" before)
                html = (await http.get(url)).text
                if "data-countdown" in html:
                    break
            seen.append(without_ids(html))
        assert seen[0] == seen[1]


async def test_a_blocked_registration_leads_to_its_correction_form_in_this_browser_only(
    sms_gateway, api, make_client, db_pool
):
    guardian = await make_guardian(db_pool)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    http = make_client()
    stranger = make_client()
    async with http, stranger:
        code_page, token = await registration_started(
            http, guardian.last_name, guardian.first_name, national(guardian.mobile)
        )
        code = await wait_for_code(outbox, guardian)
        posted = await http.post(code_page, data={"code": code, "csrf_token": token})
        birthdate_page = posted.headers["location"]
        assert birthdate_page.endswith("/date-de-naissance")
        for _ in range(3):
            posted = await http.post(
                birthdate_page, data={"birthdate": "01/01/2001", "csrf_token": token}
            )
        blocked = await follow(http, await http.get(birthdate_page))
        assert 'data-code="birthdate_blocked"' in blocked.text
        registration_id = code_page.split("/")[2]
        correction = f"/registration/{registration_id}/correction"
        page = f"/inscription/{registration_id}/correction-date-de-naissance"
        assert f'href="{page}"' in blocked.text
        # The browser's cookie reaches the correction form's page and the JSON API's.
        assert 'name="proposed_birthdate"' in (await http.get(page)).text
        assert (await http.get(correction)).status_code == 200

        # Another browser holding the address is sent back to the start.
        sent_back = await stranger.get(code_page)
        assert sent_back.headers["location"] == "/inscription"
        assert 'data-code="registration_not_found"' in (await follow(stranger, sent_back)).text
        assert (await stranger.get(correction)).status_code == 404
        assert (await stranger.get(page)).headers["location"] == "/"
        # So is an address whose id is not one (a page, not the API's JSON refusal).
        mangled = await stranger.get("/inscription/pas-un-identifiant/code")
        assert mangled.headers["location"] == "/inscription"


async def test_five_wrong_codes_end_the_registration_on_a_page_saying_why(
    sms_gateway, api, make_client, db_pool
):
    http = make_client()
    async with http:
        code_page, token = await registration_started(
            http, "Personne", "Inconnue", "06 99 98 97 94"
        )
        for left in (4, 3, 2, 1):
            posted = await http.post(code_page, data={"code": "123456", "csrf_token": token})
            html = (await follow(http, posted)).text
            assert (
                f"Il vous reste {left} essai" in html and 'data-code="sms_code_incorrect"' in html
            )
            assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
        posted = await http.post(code_page, data={"code": "123456", "csrf_token": token})
        ended = await follow(http, await follow(http, posted))
        assert str(ended.url).endswith("/terminee")
        assert 'data-code="sms_code_locked"' in ended.text
        assert 'href="/inscription"' in ended.text  # "Recommencer mon inscription"


async def test_renvoyer_le_code_too_soon_is_refused_then_sends_a_new_code(
    sms_gateway, api, make_client, db_pool, time_skipping_env
):
    guardian = await make_guardian(db_pool)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    http = make_client()
    async with http:
        code_page, token = await registration_started(
            http, guardian.last_name, guardian.first_name, national(guardian.mobile)
        )
        first = await wait_for_code(outbox, guardian)
        resend = f"{code_page}/renvoyer"
        too_soon = await follow(http, await http.post(resend, data={"csrf_token": token}))
        assert 'data-code="sms_resend_too_soon"' in too_soon.text

        await time_skipping_env.sleep(timedelta(seconds=61))
        resent = await follow(http, await http.post(resend, data={"csrf_token": token}))
        assert "un nouveau code vous a été envoyé par SMS" in resent.text
        second = await wait_for_code(outbox, guardian, 2)
        if second != first:  # the old code died with the new one
            refused = await http.post(code_page, data={"code": first, "csrf_token": token})
            assert 'data-code="sms_code_incorrect"' in (await follow(http, refused)).text
        accepted = await http.post(code_page, data={"code": second, "csrf_token": token})
        assert accepted.headers["location"].endswith("/date-de-naissance")
