"""The pages (api/web/) in process, without a browser: the layout, the CSRF
token of every form, refusals carried to their page (POST, redirect, GET)
with their codes and the typed values (never a password), and the activation
steps reached from the sign-in form. The browser walks are in
tests/e2e/test_pages_browser_e2e.py."""

from __future__ import annotations

import re

import httpx
import pytest

from educonnect.errors import MESSAGES, ErrorCode
from educonnect.passwords import MESSAGES as PASSWORD_MESSAGES
from tests.support.families import make_family

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_of(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


async def follow(http: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    """The GET after a POST (PRG)."""
    assert response.status_code == 303, response.text
    return await http.get(response.headers["location"])


async def test_home_page_is_french_dsfr_with_franceconnect_and_its_links(api):
    page = await api.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="fr"' in html
    assert "/static/dsfr/dsfr.min.css" in html and "cdn" not in html.lower()
    assert "Ministère<br>de l’Éducation<br>nationale" in html
    assert 'href="#contenu"' in html and 'id="contenu"' in html  # skip link
    assert "fr-connect" in html and "Qu’est-ce que FranceConnect ?" in html
    for text in (
        "Identifiant oublié",
        "Mot de passe oublié",
        "m’inscrire avec mon numéro de mobile",
    ):
        assert text in html
    assert 'autocomplete="current-password"' in html
    css = await api.get("/static/dsfr/dsfr.min.css")
    assert css.status_code == 200 and ".fr-header" in css.text
    font = await api.get("/static/dsfr/fonts/Marianne-Regular.woff2")
    assert font.status_code == 200 and len(font.content) > 10_000


async def test_a_form_without_its_csrf_token_is_refused_and_nothing_runs(api, db_pool):
    family = await make_family(db_pool)
    await api.get("/")  # the browser's CSRF cookie
    posted = await api.post(
        "/connexion",
        data={"identifier": family.identifier, "password": family.provisional_password},
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/"
    assert "educonnect_session" not in posted.cookies
    page = await follow(api, posted)
    assert 'data-code="form_expired"' in page.text
    assert MESSAGES[ErrorCode.FORM_EXPIRED].replace("'", "&#39;") in page.text
    assert f'value="{family.identifier}"' in page.text  # what was typed stays
    # A token from another browser (its cookie) does not pass either.
    async with httpx.AsyncClient(transport=api._transport, base_url="http://testserver") as other:
        foreign = await csrf_of(other, "/")
    posted = await api.post(
        "/connexion",
        data={"identifier": family.identifier, "password": "x", "csrf_token": foreign},
    )
    assert 'data-code="form_expired"' in (await follow(api, posted)).text


async def test_a_wrong_password_is_said_above_the_form_with_its_code_and_never_refilled(
    api, db_pool
):
    family = await make_family(db_pool)
    token = await csrf_of(api, "/")
    posted = await api.post(
        "/connexion",
        data={"identifier": family.identifier, "password": "Mauvais123x", "csrf_token": token},
    )
    page = await follow(api, posted)
    assert 'data-error-summary data-code="invalid_credentials"' in page.text
    assert MESSAGES[ErrorCode.INVALID_CREDENTIALS].replace("'", "&#39;") in page.text
    assert f'value="{family.identifier}"' in page.text
    assert "Mauvais123x" not in page.text
    # Read once: the page shown again is clean.
    assert "data-error-summary" not in (await api.get("/")).text


async def test_empty_fields_are_refused_at_their_field(api):
    token = await csrf_of(api, "/")
    posted = await api.post(
        "/connexion", data={"identifier": "", "password": "", "csrf_token": token}
    )
    page = (await follow(api, posted)).text
    assert 'href="#identifier"' in page and 'href="#password"' in page
    assert page.count("Ce champ est obligatoire.") >= 4  # each in the summary and at its field
    assert 'aria-invalid="true"' in page


async def test_sign_in_with_the_schools_credentials_leads_to_the_step_of_the_activation(
    api, db_pool
):
    family = await make_family(db_pool)
    token = await csrf_of(api, "/")
    posted = await api.post(
        "/connexion",
        data={
            "identifier": family.identifier,
            "password": family.provisional_password,
            "csrf_token": token,
        },
    )
    assert posted.headers["location"] == "/activation/gerer-mon-compte"
    page = await follow(api, posted)
    html = page.text
    assert "Étape 1 sur 3" in html and family.identifier in html
    for code in ("password_length", "password_digit", "password_birthdate"):
        assert (
            f'data-rule="{code}"' in html and PASSWORD_MESSAGES[code].replace("'", "&#39;") in html
        )
    token = CSRF.search(html).group(1)

    # Every broken rule at the password field; the addresses typed twice must agree.
    posted = await api.post(
        "/activation/gerer-mon-compte",
        data={
            "password": "court",
            "password_confirmation": "court",
            "email": family.email,
            "email_confirmation": family.email,
            "child_birthdate": family.child_birthdates[0].isoformat(),
            "csrf_token": token,
        },
    )
    html = (await follow(api, posted)).text
    assert 'data-code="password_length"' in html and 'data-code="password_digit"' in html
    assert f'value="{family.email}"' in html and "court" not in html.replace("Courriel", "")
    posted = await api.post(
        "/activation/gerer-mon-compte",
        data={
            "password": "Printemps26x",
            "password_confirmation": "Printemps26x",
            "email": family.email,
            "email_confirmation": "autre@example.fr",
            "child_birthdate": family.child_birthdates[0].isoformat(),
            "csrf_token": token,
        },
    )
    html = (await follow(api, posted)).text
    assert 'data-code="email_mismatch"' in html and 'href="#email_confirmation"' in html

    # An unreadable date: said once, at its field; nothing reaches the process.
    posted = await api.post(
        "/activation/gerer-mon-compte",
        data={
            "password": "Printemps26x",
            "password_confirmation": "Printemps26x",
            "email": family.email,
            "email_confirmation": family.email,
            "child_birthdate": "31/02/2013",
            "csrf_token": token,
        },
    )
    html = (await follow(api, posted)).text
    assert html.count("Date invalide : format attendu JJ/MM/AAAA") == 2  # summary and field
    assert "Ce champ est obligatoire." not in html and "Vous disposez de 3 essais." in html

    # A wrong birthdate: the tries left, at the birthdate field.
    posted = await api.post(
        "/activation/gerer-mon-compte",
        data={
            "password": "Printemps26x",
            "password_confirmation": "Printemps26x",
            "email": family.email,
            "email_confirmation": family.email,
            "child_birthdate": "01/01/2001",
            "csrf_token": token,
        },
    )
    html = (await follow(api, posted)).text
    assert 'data-code="birthdate_incorrect"' in html and "Il vous reste 2 essais." in html
    assert 'href="#child_birthdate"' in html and 'value="01/01/2001"' in html

    # Right: "Activer votre compte", the address masked, resend and change of address.
    posted = await api.post(
        "/activation/gerer-mon-compte",
        data={
            "password": "Printemps26x",
            "password_confirmation": "Printemps26x",
            "email": family.email,
            "email_confirmation": family.email,
            "child_birthdate": family.child_birthdates[0].isoformat(),
            "csrf_token": token,
        },
    )
    assert posted.headers["location"] == "/activation/activer-mon-compte"
    html = (await follow(api, posted)).text
    assert "Étape 2 sur 3" in html and "c***@e***.fr" in html and family.email not in html
    assert "Renvoyer le lien" in html and "Modifier l’adresse" in html and "Actualiser" in html
    assert 'data-auto-refresh="5"' in html

    # A resend right away: the cooldown, said on the page.
    posted = await api.post("/activation/activer-mon-compte/renvoyer", data={"csrf_token": token})
    html = (await follow(api, posted)).text
    assert 'data-code="resend_too_soon"' in html

    # The profile page now sends to the step the workflow is at.
    again = await api.get("/activation/gerer-mon-compte")
    assert (
        again.status_code == 303 and again.headers["location"] == "/activation/activer-mon-compte"
    )


async def test_an_activation_page_without_a_session_sends_home_with_the_reason(api):
    api.cookies.clear()
    answer = await api.get("/activation/activer-mon-compte")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    html = (await api.get("/")).text
    assert 'data-code="session_required"' in html


async def test_three_wrong_birthdates_lead_to_the_blocked_page_and_its_correction_form(
    api, db_pool
):
    family = await make_family(db_pool)
    token = await csrf_of(api, "/")
    await api.post(
        "/connexion",
        data={
            "identifier": family.identifier,
            "password": family.provisional_password,
            "csrf_token": token,
        },
    )
    for _ in range(3):
        posted = await api.post(
            "/activation/gerer-mon-compte",
            data={
                "password": "Printemps26x",
                "password_confirmation": "Printemps26x",
                "email": family.email,
                "email_confirmation": family.email,
                "child_birthdate": "01/01/2001",
                "csrf_token": token,
            },
        )
    assert posted.headers["location"] == "/activation/date-de-naissance-bloquee"
    html = (await follow(api, posted)).text
    assert 'data-code="birthdate_blocked"' in html
    assert 'href="/assistance/correction-date-de-naissance"' in html


async def test_the_link_pages_use_the_layout_and_keep_their_words(api):
    page = await api.get("/activation/confirmation", params={"jeton": "inconnu"})
    assert page.status_code == 404
    assert 'data-code="link_invalid"' in page.text and "fr-header" in page.text
    assert MESSAGES[ErrorCode.LINK_INVALID] in page.text  # the words as before the layout


async def test_sign_in_delays_are_said_with_the_time_to_wait(api, db_pool):
    family = await make_family(db_pool)
    token = await csrf_of(api, "/")
    for _ in range(3):  # the free failures
        await api.post(
            "/connexion",
            data={"identifier": family.identifier, "password": "Mauvais123x", "csrf_token": token},
        )
    posted = await api.post(
        "/connexion",
        data={
            "identifier": family.identifier,
            "password": family.provisional_password,
            "csrf_token": token,
        },
    )
    html = (await follow(api, posted)).text
    assert 'data-error-summary data-code="too_many_attempts"' in html
    assert re.search(r"Réessayez dans \d+ secondes?\.", html)
