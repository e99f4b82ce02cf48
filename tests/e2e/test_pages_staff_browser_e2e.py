"""The staff back-office walked in Chromium on the dev stack (issue 13): real
worker and API processes, real PostgreSQL with the demo data and its demo
staff. A family is blocked after three wrong birthdates and files its
request; the school's administrator opens the request's page (sign-in, then
back there), asks a question (confirmed first); the family answers on its
page; the administrator approves (confirmed first) and reads the outcome the
process gave: the blocked activation resumed, which the family's page then
shows. Another school's administrator finds that request unknown. Académie
support's pages (escalated tab, audit log) are visited too; the escalation
after 5 days itself is proven on the time-skipping server
(tests/test_pages_staff_corrections.py, tests/workflows/test_birthdate_correction.py).
Every staff page passes axe-core, photographed at 360 and 1280 px."""

from __future__ import annotations

import pytest

from educonnect.devtools import demo_data
from tests.e2e.conftest import E2E_DEMO_PUPILS
from tests.e2e.test_pages_recovery_assistance_browser_e2e import (
    a_blocked_family_files_a_request,
    new_page,
    resumed_from_the_request_page,
)
from tests.support.browser import PageCheck, browser  # noqa: F401 (fixture)
from tests.support.mail import Mailbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUESTION = "Pouvez-vous déposer une copie du livret de famille au secrétariat ?"


async def staff_sign_in(page, login: str, password: str) -> None:
    await page.locator("#login").fill(login)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name="Se connecter").click()


async def test_a_school_administrator_asks_then_approves_and_the_family_resumes(
    stack, mailbox: Mailbox, browser
):
    base = stack.api_url
    check = PageCheck()
    family_context, family = await new_page(browser)
    staff_context, staff = await new_page(browser)
    try:
        filed = await a_blocked_family_files_a_request(stack, mailbox, family, check)
        request_page = f"{base}/gestion/demandes/{filed.request_id}"

        # The school's email leads to the request's page, through the staff sign-in.
        await staff.goto(f"{base}/gestion/demandes")
        await staff.wait_for_url(f"{base}/gestion/connexion?retour=/gestion/demandes")
        await check.visit(staff, "gestion-connexion")
        await staff_sign_in(staff, filed.admin.login, "pas-le-bon-mot-de-passe")
        await staff.locator("[data-error-summary]").wait_for()
        assert await staff.locator("[data-error-summary]").get_attribute("data-code") == (
            "staff_invalid_credentials"
        )
        await check.visit(staff, "gestion-connexion-erreur")
        await staff_sign_in(staff, filed.admin.login, filed.admin.password)
        await staff.wait_for_url(f"{base}/gestion/demandes")
        row = staff.locator(f'[data-request="{filed.request_id}"]')
        await row.wait_for()
        await check.visit(staff, "gestion-demandes")
        await row.get_by_role("link").click()
        await staff.wait_for_url(request_page)
        assert (
            filed.believed.strftime("%d/%m/%Y")
            in await staff.locator("[data-proposed]").inner_text()
        )
        await check.visit(staff, "gestion-demande")

        await staff.locator("#question").fill(QUESTION)
        await staff.get_by_role("button", name="Demander…").click()
        await staff.locator('[data-confirm="question"]').wait_for()
        await check.visit(staff, "gestion-demande-confirmer-question")
        await staff.get_by_role("button", name="Oui, envoyer la question").click()
        await staff.locator(
            '[data-decision-outcome="applied"]', has_text="Votre question est transmise"
        ).wait_for()

        await family.get_by_role("link", name="Actualiser").click()
        await family.locator("[data-question]", has_text=QUESTION).wait_for()
        await family.locator("#message").fill("Je la dépose demain au secrétariat.")
        await family.get_by_role("button", name="Envoyer ma réponse").click()
        await family.locator('[role="status"]', has_text="Votre réponse").wait_for()

        for _ in range(100):  # the workflow took the answer: the request waits on the school
            await staff.reload()
            if await staff.locator('[data-status="awaiting_review"]').count():
                break
        assert "Je la dépose demain" in await staff.locator("[data-messages]").inner_text()
        assert await staff.locator("#corrected_birthdate").input_value() == filed.believed.strftime(
            "%d/%m/%Y"
        )
        await staff.get_by_role("button", name="Accepter…").click()
        await staff.locator('[data-confirm="accepter"]').wait_for()
        await check.visit(staff, "gestion-demande-confirmer-acceptation")
        await staff.get_by_role("button", name="Oui, corriger la date de naissance").click()
        outcome = staff.locator('[data-decision-outcome="applied"]')
        await outcome.wait_for()
        said = await outcome.inner_text()
        assert (
            "la date de naissance est corrigée" in said and "Le processus bloqué a repris" in said
        )
        await check.visit(staff, "gestion-demande-acceptee")

        await resumed_from_the_request_page(family, base, filed.believed)
        await family.get_by_role("link", name="Reprendre l’activation de votre compte").click()
        await family.wait_for_url(f"{base}/activation/gerer-mon-compte")
        assert "Étape 1 sur 3" in await family.content()

        # The administrator's other pages.
        for name, path in (("gestion-tickets", "/gestion/tickets"),
                           ("gestion-contestations", "/gestion/contestations"),
                           ("gestion-mot-de-passe", "/gestion/mot-de-passe"),
                           ("gestion-demandes-closes", "/gestion/demandes?onglet=closes")):  # fmt: skip
            await staff.goto(f"{base}{path}")
            await check.visit(staff, name)
        await staff.get_by_role("button", name="Se déconnecter").click()
        await staff.wait_for_url(f"{base}/gestion/connexion")
    finally:
        await family_context.close()
        await staff_context.close()

    staff_list = demo_data.demo_staff(demo_data.generate(n_pupils=E2E_DEMO_PUPILS))
    other = next(s for s in staff_list if s.uai and s.uai != filed.admin.uai)
    support = next(s for s in staff_list if s.role == "academie_support")
    context, page = await new_page(browser)
    try:  # another school's administrator: the request is unknown
        await page.goto(request_page)
        await staff_sign_in(page, other.login, other.password)
        await page.wait_for_url(request_page)
        assert await page.locator('[data-code="correction_not_found"]').count() == 1
        assert await page.locator("[data-pupil]").count() == 0
        await check.visit(page, "gestion-demande-inconnue")
    finally:
        await context.close()
    context, page = await new_page(browser)
    try:  # académie support: the escalated tab, the request (any school), the audit log
        await page.goto(f"{base}/gestion")
        await staff_sign_in(page, support.login, support.password)
        await page.wait_for_url(f"{base}/gestion/demandes?onglet=escaladees")
        await check.visit(page, "gestion-escaladees")
        await page.goto(request_page)
        assert await page.locator('[data-status="approved"]').count() == 1
        await page.goto(f"{base}/gestion/journal?action=correction.approve")
        await page.locator("[data-audit]").wait_for()
        assert filed.admin.display_name in await page.locator("[data-audit]").inner_text()
        await check.visit(page, "gestion-journal")
    finally:
        await context.close()
