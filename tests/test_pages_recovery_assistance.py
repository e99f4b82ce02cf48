"""The recovery and assistance pages (api/web/recovery.py, api/web/assistance.py)
in process, without a browser: the same answer whether or not an account
matches, the SMS way bound to its browser, the email link's form in the
layout with the policy's rules, the correction form of a blocked activation
(a browser asking the JSON form is sent to it), a request's page with the
school's question, the answer and the decision, the ticket form. The browser
walks are in tests/e2e/test_pages_recovery_assistance_browser_e2e.py."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from educonnect.errors import MESSAGES, ErrorCode
from educonnect.models.corrections import StaffRole
from educonnect.passwords import MESSAGES as PASSWORD_MESSAGES
from tests.support.accounts import make_active_account, random_mobile, sign_in
from tests.support.corrections import (
    block_activation,
    children_of,
    family_at,
    make_school,
    make_staff,
    signed_in_staff,
)
from tests.support.mail import Mailbox, link_in
from tests.support.pupils import make_pupil
from tests.support.sms import SmsOutbox, code_in
from tests.workflows.test_correction_filing import BELIEVED
from tests.workflows.test_pupil_activation import profile as pupil_profile
from tests.workflows.test_pupil_activation import start as pupil_sign_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WAIT_S = 20


async def csrf_of(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


async def follow(http: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    assert response.status_code == 303, response.text
    return await http.get(response.headers["location"])


def text_of(message: str) -> str:
    return message.replace("'", "&#39;")


# --- recovery ---------------------------------------------------------------------------------


async def test_lost_identifier_answers_the_same_whether_or_not_an_account_matches(
    api, db_pool, mailbox: Mailbox
):
    account = await make_active_account(db_pool)
    token = await csrf_of(api, "/identifiant-oublie")
    pages = []
    for email in (account.email, "personne.inconnue@example.org"):
        posted = await api.post(
            "/identifiant-oublie/courriel", data={"email": email, "csrf_token": token}
        )
        assert posted.headers["location"] == "/identifiant-oublie/envoye?par=courriel"
        pages.append((await follow(api, posted)).text)
    assert pages[0] == pages[1] and "courriel contenant votre identifiant" in pages[0]
    [mail] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    assert account.identifier in mail.text

    empty = await api.post("/identifiant-oublie/sms", data={"mobile": " ", "csrf_token": token})
    page = (await follow(api, empty)).text
    assert 'data-code="invalid_input"' in page and 'aria-invalid="true"' in page


async def test_lost_password_by_sms_code_then_new_password_in_the_pages(
    api, db_pool, sms_gateway, mailbox: Mailbox
):
    mobile = random_mobile()
    account = await make_active_account(db_pool, mobile=mobile)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    token = await csrf_of(api, "/mot-de-passe-oublie")
    asked = await api.post(
        "/mot-de-passe-oublie/sms",
        data={"sms_identifier": account.identifier, "mobile": mobile, "csrf_token": token},
    )
    code_page = asked.headers["location"]
    assert re.fullmatch(r"/mot-de-passe-oublie/sms/[0-9a-f-]{36}", code_page)
    page = (await follow(api, asked)).text
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert "Étape 2 sur 3" in page and "Renvoyer un code" in page

    # Another browser cannot use the request's address.
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as other:
        stolen = await other.get(code_page)
        assert stolen.headers.get("location") == "/mot-de-passe-oublie", stolen.text
        assert 'data-code="reset_not_found"' in (await follow(other, stolen)).text

    [sms] = await outbox.wait_for(mobile, 1, timeout=WAIT_S)
    wrong = "000000" if code_in(sms) != "000000" else "111111"
    refused = await api.post(code_page, data={"code": wrong, "csrf_token": token})
    page = (await follow(api, refused)).text
    assert 'data-code="sms_code_incorrect"' in page and "Il vous reste 4 essais" in page

    checked = await api.post(code_page, data={"code": code_in(sms), "csrf_token": token})
    assert checked.headers["location"] == f"{code_page}/nouveau-mot-de-passe"
    page = (await follow(api, checked)).text
    assert "Étape 3 sur 3" in page and PASSWORD_MESSAGES["password_length"] in page

    weak = await api.post(
        f"{code_page}/nouveau-mot-de-passe",
        data={"password": "abc", "password_confirmation": "abc", "csrf_token": token},
    )
    page = (await follow(api, weak)).text
    assert 'data-code="password_length"' in page and 'value="abc"' not in page

    done = await api.post(
        f"{code_page}/nouveau-mot-de-passe",
        data={
            "password": "Hibou2030kk",
            "password_confirmation": "Hibou2030kk",
            "csrf_token": token,
        },
    )
    assert done.headers["location"] == "/mot-de-passe-oublie/modifie"
    page = (await follow(api, done)).text
    assert "Mot de passe modifié" in page and account.identifier in page
    assert (await sign_in(api, account.identifier, "Hibou2030kk")).json()["status"] == "signed_in"


async def test_the_email_link_page_is_a_dsfr_form_with_the_rules(api, db_pool, mailbox: Mailbox):
    account = await make_active_account(db_pool)
    token = await csrf_of(api, "/mot-de-passe-oublie")
    asked = await api.post(
        "/mot-de-passe-oublie/courriel",
        data={"identifier": account.identifier, "email": account.email, "csrf_token": token},
    )
    assert "Ce lien est valable une heure" in (await follow(api, asked)).text
    [mail] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    form = await api.get(link_in(mail))
    assert 'class="fr-input"' in form.text and 'data-password-rules="password"' in form.text
    mismatch = await api.post(
        "/recovery/password/link",
        data={
            "jeton": link_in(mail).split("jeton=")[1],
            "password": "Hibou2030kk",
            "password_confirmation": "Hibou2030kz",
        },
    )
    assert mismatch.status_code == 422
    assert 'id="erreurs"' in mismatch.text and 'data-code="password_mismatch"' in mismatch.text
    assert 'aria-invalid="true"' in mismatch.text and "Hibou2030kk" not in mismatch.text


# --- assistance ----------------------------------------------------------------------------------


async def test_blocked_activation_files_a_correction_and_follows_it_in_the_pages(
    api, db_pool, make_client
):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    family = await family_at(db_pool, school)
    child = (await children_of(db_pool, family))[0]
    await block_activation(api, family)

    # A browser asking the JSON form's address gets the page.
    sent = await api.get("/assistance/date-de-naissance", headers={"accept": "text/html"})
    assert sent.headers["location"] == "/assistance/correction-date-de-naissance"
    assert (await api.get("/assistance/date-de-naissance")).json()["children"]  # JSON as before
    page = (await follow(api, sent)).text
    assert child["first_name"] in page and 'name="pupil_id"' in page and "Étape 2 sur 3" in page

    token = CSRF.search(page).group(1)
    form = {
        "pupil_id": str(child["id"]),
        "proposed_birthdate": "31/02/2013",
        "message": "Notre fille est née un autre jour.",
        "contact": "email",
        "csrf_token": token,
    }
    refused = await api.post("/assistance/correction-date-de-naissance", data=form)
    page = (await follow(api, refused)).text
    assert 'data-code="invalid_input"' in page and "Notre fille est née un autre jour." in page

    proposed = child["birthdate"].replace(day=1 if child["birthdate"].day != 1 else 2)
    filed = await api.post(
        "/assistance/correction-date-de-naissance",
        data={**form, "proposed_birthdate": proposed.strftime("%d/%m/%Y")},
    )
    request_page = filed.headers["location"]
    request_id = request_page.rsplit("/", 1)[1]
    page = (await follow(api, filed)).text
    assert "transmise à l&#39;établissement" in page or "transmise à l’établissement" in page
    assert 'data-request-status="awaiting_review"' in page

    async with signed_in_staff(make_client, admin) as staff:
        asked = await staff.post(
            f"/staff/requests/{request_id}/ask-information",
            json={"question": "Pouvez-vous envoyer une copie du livret de famille ?"},
        )
        assert asked.status_code == 200, asked.text
        page = (await api.get(request_page)).text
        assert "copie du livret de famille" in page and 'name="message"' in page
        answered = await api.post(
            f"{request_page}/reponse",
            data={"message": "Je la dépose au secrétariat demain.", "csrf_token": token},
        )
        page = (await follow(api, answered)).text
        assert "Votre réponse a bien été transmise" in page
        assert "Je la dépose au secrétariat demain." in page
        assert 'name="message"' not in page  # answered: no second answer form

        for _ in range(100):  # the workflow took the answer: staff may decide
            detail = (await staff.get(f"/staff/requests/{request_id}")).json()
            if detail["status"] == "awaiting_review":
                break
            await asyncio.sleep(0.1)
        approved = await staff.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": proposed.isoformat()},
        )
        assert approved.status_code == 200, approved.text

    for _ in range(100):  # the activation reads back its unblock
        page = (await api.get(request_page)).text
        if 'href="/activation/gerer-mon-compte"' in page:
            break
        await asyncio.sleep(0.1)
    assert 'data-decision="approved"' in page and proposed.strftime("%d/%m/%Y") in page
    assert "Reprendre l’activation de votre compte" in page
    assert (await api.get("/activation/date-de-naissance-bloquee")).headers[
        "location"
    ] == "/activation/gerer-mon-compte"


async def test_the_correction_form_needs_an_activation_session(api):
    api.cookies.clear()
    sent = await api.get("/assistance/correction-date-de-naissance")
    assert sent.headers["location"] == "/"
    assert 'data-code="session_required"' in (await follow(api, sent)).text


async def test_a_ticket_from_the_page(api, db_pool):
    school = await make_school(db_pool)
    token = await csrf_of(api, "/assistance/contact")
    page = (await api.get("/assistance/contact")).text
    assert school.academie in page and 'name="category"' in page
    fields = {
        "last_name": "Martin",
        "first_name": "Claire",
        "email": "claire.martin@example.org",
        "category": "connexion",
        "message": "Je ne reçois pas le SMS.",
        "uai": "",
        "academie": "",
        "csrf_token": token,
    }
    refused = await api.post("/assistance/contact", data=fields)
    page = (await follow(api, refused)).text
    assert 'data-code="assistance_academie_unknown"' in page
    assert text_of(MESSAGES[ErrorCode.ASSISTANCE_ACADEMIE_UNKNOWN]) in page
    assert 'value="Martin"' in page

    sent = await api.post("/assistance/contact", data={**fields, "uai": school.uai})
    assert sent.headers["location"] == "/assistance/contact/envoyee"
    page = (await follow(api, sent)).text
    assert "claire.martin@example.org" in page and "Référence de votre demande" in page
    row = await db_pool.fetchrow(
        "SELECT academie, message FROM assistance_tickets WHERE email = $1",
        "claire.martin@example.org",
    )
    assert row["academie"] == school.academie and row["message"] == "Je ne reçois pas le SMS."


async def test_a_blocked_pupil_asks_the_correction_of_their_own_birthdate(api, db_pool):
    pupil = await make_pupil(db_pool)
    await pupil_sign_in(api, pupil)
    early = await api.get("/activation-eleve/correction-date-de-naissance")
    assert early.headers["location"] == "/"  # not blocked: nothing to correct
    assert 'data-code="correction_not_needed"' in (await follow(api, early)).text
    for _ in range(3):
        await api.post("/pupil-activation/profile", json=pupil_profile(pupil, birthdate=BELIEVED))

    page = (await api.get("/activation-eleve/correction-date-de-naissance")).text
    assert "Votre date de naissance exacte" in page and "établissement vous préviendra" in page
    assert 'name="contact"' not in page  # the process tells them its own way
    token = CSRF.search(page).group(1)
    filed = await api.post(
        "/activation-eleve/correction-date-de-naissance",
        data={
            "proposed_birthdate": BELIEVED.strftime("%d/%m/%Y"),
            "message": "Je suis né le 1er janvier 2014.",
            "csrf_token": token,
        },
    )
    request_page = filed.headers["location"]
    assert request_page.startswith("/activation-eleve/correction-date-de-naissance/")
    page = (await follow(api, filed)).text
    assert "compte élève" in page and 'data-request-status="awaiting_review"' in page
    assert "Je suis né le 1er janvier 2014." in page
