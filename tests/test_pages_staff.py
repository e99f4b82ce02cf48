"""The staff pages in process (issue 13; api/web/staff/): sign-in (and back
to the page asked), the layout and navigation of each role, sign-out, the
password change. The queue and a request's page: tests/test_pages_staff_corrections.py."""

from __future__ import annotations

import pytest

from educonnect.models.corrections import StaffRole
from tests.support.corrections import make_school, make_staff
from tests.support.staff_pages import follow, post_form, sign_in_page, signed_in_pages

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_staff_page_without_session_goes_to_sign_in_and_back_there(make_client, db_pool):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    async with make_client() as http:
        asked = await http.get("/gestion/mot-de-passe")
        assert asked.status_code == 303
        assert asked.headers["location"] == "/gestion/connexion?retour=/gestion/mot-de-passe"
        page = await http.get(asked.headers["location"])
        assert "Connexion du personnel" in page.text and "EduConnect — Gestion" in page.text
        assert 'name="retour" value="/gestion/mot-de-passe"' in page.text
        assert "jamais bloqué" in page.text and "15 minutes" in page.text  # the limits, said first
        signed = await sign_in_page(http, admin, retour="/gestion/mot-de-passe")
        assert signed.status_code == 303 and signed.headers["location"] == "/gestion/mot-de-passe"
        cookie = next(c for c in http.cookies.jar if c.name == "educonnect_staff_session")
        assert cookie.path == "/gestion"
        # Another site as the way back is never followed.
        http.cookies.clear()
        signed = await sign_in_page(http, admin, retour="https://ailleurs.example/gestion/x")
        assert signed.headers["location"] == "/gestion/demandes"


async def test_a_wrong_password_is_said_in_french_and_delays_come_after_three(make_client, db_pool):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    admin.password = "Mauvais-mot-de-passe-1!"
    async with make_client() as http:
        for _ in range(3):
            refused = await sign_in_page(http, admin)
            page = await follow(http, refused)
            assert 'data-code="staff_invalid_credentials"' in page.text
            assert "L&#39;identifiant ou le mot de passe est incorrect." in page.text
            assert "educonnect_staff_session" not in refused.cookies
            assert f'value="{admin.login}"' in page.text and admin.password not in page.text
        page = await follow(http, await sign_in_page(http, admin))
        assert 'data-code="too_many_attempts"' in page.text and "Réessayez dans" in page.text


async def test_each_role_sees_its_navigation_and_signs_out(make_client, db_pool):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    async with make_client() as http:
        await signed_in_pages(http, admin)
        page = await http.get("/gestion/mot-de-passe")
        nav = page.text[page.text.index("data-staff-nav") :]
        for label in ("Demandes de correction", "Tickets", "Imports", "Familles", "Contestations"):
            assert label in nav
        assert "Journal d&#39;audit" not in nav and "Demandes escaladées" not in nav
        assert f"établissement {school.uai}" in page.text
        out = await http.post("/gestion/deconnexion", data={"csrf_token": _csrf(page.text)})
        assert out.headers["location"] == "/gestion/connexion"
        assert (await http.get("/gestion/mot-de-passe")).status_code == 303
    async with make_client() as http:
        landing = await sign_in_page(http, support)
        assert landing.headers["location"] == "/gestion/demandes?onglet=escaladees"
        page = await http.get("/gestion/mot-de-passe")
        nav = page.text[page.text.index("data-staff-nav") :]
        for label in (
            "Demandes escaladées",
            "Demandes de correction",
            "Tickets",
            "Journal d&#39;audit",
        ):
            assert label in nav
        assert "Imports" not in nav and "Familles" not in nav
        assert f"académie de {school.academie}" in page.text


def _csrf(html: str) -> str:
    from tests.support.staff_pages import CSRF

    return CSRF.search(html).group(1)


async def test_the_password_change_says_each_rule_and_ends_other_sessions(make_client, db_pool):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    async with make_client() as other, make_client() as http:
        await signed_in_pages(other, admin)
        await signed_in_pages(http, admin)
        weak = await post_form(
            http,
            "/gestion/mot-de-passe",
            {"current_password": admin.password, "new_password": "court",
             "new_password_confirmation": "court"},
        )  # fmt: skip
        page = await follow(http, weak)
        assert 'data-code="staff_password_length"' in page.text
        assert "au moins 12 caractères" in page.text and admin.password not in page.text
        new = "Nouveau-Secret-2027!"
        done = await post_form(
            http,
            "/gestion/mot-de-passe",
            {"current_password": admin.password, "new_password": new,
             "new_password_confirmation": new},
        )  # fmt: skip
        page = await follow(http, done)
        assert "Votre mot de passe est modifié" in page.text
        assert (await other.get("/gestion/mot-de-passe")).status_code == 303  # ended
        assert (await http.get("/gestion/mot-de-passe")).status_code == 200  # kept
