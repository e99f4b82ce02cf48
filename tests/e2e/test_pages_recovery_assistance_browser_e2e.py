"""Recovery and assistance walked in Chromium on the dev stack (real worker
and API processes, real PostgreSQL with the demo data and its staff, the SMTP
sink, the HTTP SMS gateway), typing into the pages as a parent does: lost
identifier by email and by SMS; lost password by the email's link and by the
SMS code, then sign-in with the new password; three wrong birthdates, the
correction form, a question of the school answered, the approval (through
the staff JSON API until the staff pages exist) and "Gérer mon compte" again;
a ticket. Every page visited passes axe-core and is photographed at 360 px
and 1280 px (`.artefacts/screenshots/`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from educonnect.devtools import demo_data
from tests.e2e.conftest import E2E_DEMO_PUPILS
from tests.e2e.test_pages_browser_e2e import a_notified_guardian, fill_profile, sign_in
from tests.support.accounts import make_active_account, random_mobile
from tests.support.browser import PageCheck, browser  # noqa: F401 (fixture)
from tests.support.mail import Mailbox, link_in
from tests.support.sms import SmsOutbox, code_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def new_page(browser):
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    return context, await context.new_page()


def typed(mobile: str) -> str:
    digits = "0" + mobile[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


async def codes_in_summary(page) -> list[str]:
    return await page.locator("[data-error-summary] [data-code]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.code)"
    )


async def test_lost_identifier_by_email_and_by_sms(stack, mailbox: Mailbox, sms_gateway, browser):
    account = await make_active_account(stack.pool, mobile=random_mobile())
    outbox = SmsOutbox(sms_gateway.outbox_path)
    check = PageCheck()
    context, page = await new_page(browser)
    base = stack.api_url
    try:
        await page.goto(f"{base}/")
        await page.get_by_role("link", name="Identifiant oublié").click()
        await page.wait_for_url(f"{base}/identifiant-oublie")
        await check.visit(page, "identifiant-oublie")

        await page.locator("#mobile").fill("123")
        await page.get_by_role("button", name="Recevoir mon identifiant par SMS").click()
        await page.wait_for_url(f"{base}/identifiant-oublie")
        assert await codes_in_summary(page) == ["phone_invalid"]
        assert await page.locator("#mobile").input_value() == "123"
        assert await page.evaluate("document.activeElement.id") == "erreurs"
        await check.visit(page, "identifiant-oublie-erreur")

        await page.locator("#email").fill(account.email)
        await page.get_by_role("button", name="Recevoir mon identifiant par courriel").click()
        await page.wait_for_url(f"{base}/identifiant-oublie/envoye?par=courriel")
        await check.visit(page, "identifiant-oublie-envoye")
        [mail] = await mailbox.wait_for(account.email, 1, timeout=30)
        assert account.identifier in mail.text

        await page.goto(f"{base}/identifiant-oublie")
        await page.locator("#mobile").fill(typed(account.mobile))
        await page.get_by_role("button", name="Recevoir mon identifiant par SMS").click()
        await page.wait_for_url(f"{base}/identifiant-oublie/envoye?par=sms")
        assert "SMS contenant votre identifiant" in await page.locator("[data-sent]").inner_text()
        [sms] = await outbox.wait_for(account.mobile, 1, timeout=30)
        assert account.identifier in sms["text"]
    finally:
        await context.close()
    assert check.visited == [
        "identifiant-oublie",
        "identifiant-oublie-erreur",
        "identifiant-oublie-envoye",
    ]


async def test_lost_password_by_email_link_then_sign_in(stack, mailbox: Mailbox, browser):
    account = await make_active_account(stack.pool)
    new_password = "Castor2031mm"
    check = PageCheck()
    context, page = await new_page(browser)
    base = stack.api_url
    try:
        await page.goto(f"{base}/")
        await page.get_by_role("link", name="Mot de passe oublié").click()
        await page.wait_for_url(f"{base}/mot-de-passe-oublie")
        await check.visit(page, "mot-de-passe-oublie")
        await page.locator("#identifier").fill(account.identifier)
        await page.locator("#email").fill(account.email)
        await page.get_by_role("button", name="Recevoir un lien par courriel").click()
        await page.wait_for_url(f"{base}/mot-de-passe-oublie/envoye")
        await check.visit(page, "mot-de-passe-oublie-envoye")

        [mail] = await mailbox.wait_for(account.email, 1, timeout=30)
        await page.goto(link_in(mail))
        await page.locator("#password").fill("court")
        rule = page.locator('[data-rule="password_length"]')
        assert "fr-message--valid" not in (await rule.get_attribute("class"))
        await check.visit(page, "lien-nouveau-mot-de-passe")
        await page.locator("#password").fill(new_password)
        assert "fr-message--valid" in (await rule.get_attribute("class"))
        await page.locator("#password_confirmation").fill(new_password + "x")
        await page.get_by_role("button", name="Enregistrer mon nouveau mot de passe").click()
        await page.locator("[data-error-summary]").wait_for()
        assert await codes_in_summary(page) == ["password_mismatch"]
        await check.visit(page, "lien-nouveau-mot-de-passe-erreur")
        await page.locator("#password").fill(new_password)
        await page.locator("#password_confirmation").fill(new_password)
        await page.get_by_role("button", name="Enregistrer mon nouveau mot de passe").click()
        await page.get_by_role("heading", name="Mot de passe modifié").wait_for()
        await check.visit(page, "lien-mot-de-passe-modifie")

        await page.get_by_role("link", name="Se connecter").click()
        await sign_in(page, base, account.identifier, new_password)
        await page.wait_for_url(f"{base}/portail")
    finally:
        await context.close()


async def test_lost_password_by_sms_code_then_sign_in(stack, sms_gateway, browser):
    account = await make_active_account(stack.pool, mobile=random_mobile())
    outbox = SmsOutbox(sms_gateway.outbox_path)
    new_password = "Loutre2032nn"
    check = PageCheck()
    context, page = await new_page(browser)
    base = stack.api_url
    try:
        await page.goto(f"{base}/mot-de-passe-oublie")
        await page.locator("#sms_identifier").fill(account.identifier)
        await page.locator("#mobile").fill(typed(account.mobile))
        await page.get_by_role("button", name="Recevoir un code par SMS").click()
        await page.wait_for_url(f"{base}/mot-de-passe-oublie/sms/*")
        code_url = page.url
        field = page.locator("#code")
        assert await field.get_attribute("autocomplete") == "one-time-code"
        assert await field.get_attribute("inputmode") == "numeric"
        assert "Étape 2 sur 3" in await page.content()
        resend = page.get_by_role("button", name="Renvoyer un code")
        assert await resend.is_disabled()  # the countdown of the cooldown
        await check.visit(page, "mot-de-passe-oublie-code")

        [sms] = await outbox.wait_for(account.mobile, 1, timeout=30)
        await field.fill("000000" if code_in(sms) != "000000" else "111111")
        await page.get_by_role("button", name="Valider le code").click()
        await page.wait_for_url(code_url)
        assert await codes_in_summary(page) == ["sms_code_incorrect"]
        await check.visit(page, "mot-de-passe-oublie-code-erreur")

        await page.locator("#code").fill(code_in(sms))
        await page.get_by_role("button", name="Valider le code").click()
        await page.wait_for_url(f"{code_url}/nouveau-mot-de-passe")
        assert "Étape 3 sur 3" in await page.content()
        await check.visit(page, "mot-de-passe-oublie-nouveau")
        await page.locator("#password").fill(new_password)
        await page.locator("#password_confirmation").fill(new_password)
        await page.get_by_role("button", name="Enregistrer mon nouveau mot de passe").click()
        await page.wait_for_url(f"{base}/mot-de-passe-oublie/modifie")
        assert account.identifier in await page.locator("[data-done]").inner_text()
        await check.visit(page, "mot-de-passe-modifie")

        await page.get_by_role("link", name="Se connecter").click()
        await sign_in(page, base, account.identifier, new_password)
        await page.wait_for_url(f"{base}/portail")
    finally:
        await context.close()


@dataclass
class FiledRequest:
    request_id: str
    believed: date  # the birthdate the family believes right (what it proposed)
    email: str
    admin: demo_data.DemoStaff  # the administrator of the child's school


async def a_blocked_family_files_a_request(
    stack, mailbox: Mailbox, page, check: PageCheck
) -> FiledRequest:
    """In `page`: a demo guardian signs in with the school's credentials, types
    a wrong birthdate three times, and files the correction request from the
    blocked page (the request's page is left open)."""
    base = stack.api_url
    email, identifier, provisional, birthdate = await a_notified_guardian(stack, mailbox)
    child = await stack.pool.fetchrow(
        "SELECT p.first_name, p.uai FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id "
        "JOIN pupils p ON p.id = gp.pupil_id WHERE a.identifier = $1 AND p.birthdate = $2",
        identifier,
        birthdate,
    )
    staff = demo_data.demo_staff(demo_data.generate(n_pupils=E2E_DEMO_PUPILS))
    admin = next(s for s in staff if s.uai == child["uai"])
    siblings = {
        r["birthdate"]
        for r in await stack.pool.fetch(
            "SELECT p.birthdate FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id "
            "JOIN pupils p ON p.id = gp.pupil_id WHERE a.identifier = $1",
            identifier,
        )
    }
    believed = birthdate + timedelta(days=1)  # what the family believes right
    while believed in siblings:
        believed += timedelta(days=1)
    await sign_in(page, base, identifier, provisional)
    await page.wait_for_url(f"{base}/activation/gerer-mon-compte")
    for left in (2, 1):
        await fill_profile(page, "Printemps26x", email, believed.strftime("%d/%m/%Y"))
        await page.locator(
            "[data-error-summary]", has_text=f"Il vous reste {left} essai"
        ).wait_for()
    await fill_profile(page, "Printemps26x", email, believed.strftime("%d/%m/%Y"))
    await page.wait_for_url(f"{base}/activation/date-de-naissance-bloquee")
    await page.get_by_role("link", name="Demander la correction de la date de naissance").click()
    await page.wait_for_url(f"{base}/assistance/correction-date-de-naissance")
    assert "Étape 2 sur 3" in await page.content()
    await check.visit(page, "correction-date-de-naissance")

    # The DSFR radio: its label takes the click.
    await page.locator('label[for^="enfant-"]', has_text=child["first_name"]).first.click()
    await page.locator("#proposed_birthdate").fill(believed.strftime("%d/%m/%Y"))
    await page.get_by_role("button", name="Envoyer ma demande").click()
    await page.wait_for_url(f"{base}/assistance/correction-date-de-naissance")
    assert await codes_in_summary(page) == ["invalid_input"]  # the message is missing
    await check.visit(page, "correction-date-de-naissance-erreur")
    await page.locator("#message").fill(
        f"{child['first_name']} est né(e) le {believed:%d/%m/%Y}, voir le livret de famille."
    )
    await page.get_by_role("button", name="Envoyer ma demande").click()
    await page.wait_for_url(f"{base}/assistance/demandes/*")
    assert "a bien été transmise" in await page.locator('[role="status"]').inner_text()
    await check.visit(page, "demande-de-correction")
    return FiledRequest(page.url.rsplit("/", 1)[1], believed, email, admin)


async def resumed_from_the_request_page(page, base: str, believed: date) -> None:
    """The request's page of an approved request: its decision, then "Reprendre
    l'activation", the activation's first step again (as the approval resumed it)."""
    resume = page.get_by_role("link", name="Reprendre l’activation de votre compte")
    for _ in range(60):  # the activation reads back its unblock
        await page.reload()
        if await resume.count() and "gerer-mon-compte" in (
            await resume.get_attribute("href") or ""
        ):
            break
        await asyncio.sleep(0.2)
    assert believed.strftime("%d/%m/%Y") in await page.locator("[data-decision]").inner_text()


async def test_blocked_birthdate_corrected_by_the_school_then_activation_resumes(
    stack, mailbox: Mailbox, browser
):
    check = PageCheck()
    context, page = await new_page(browser)
    base = stack.api_url
    try:
        filed = await a_blocked_family_files_a_request(stack, mailbox, page, check)
        request_id, believed, email, admin = (
            filed.request_id,
            filed.believed,
            filed.email,
            filed.admin,
        )

        async with stack.http() as http:
            signed = await http.post(
                "/staff/sign-in", json={"login": admin.login, "password": admin.password}
            )
            assert signed.status_code == 200, signed.text
            asked = await http.post(
                f"/staff/requests/{request_id}/ask-information",
                json={"question": "Pouvez-vous joindre une copie du livret de famille ?"},
            )
            assert asked.status_code == 200, asked.text
            await page.get_by_role("link", name="Actualiser").click()
            await page.locator("[data-question]").wait_for()
            await check.visit(page, "demande-question")
            await page.locator("#message").fill("Je la dépose demain au secrétariat.")
            await page.get_by_role("button", name="Envoyer ma réponse").click()
            await page.locator('[role="status"]', has_text="Votre réponse").wait_for()
            for _ in range(100):  # the workflow took the answer: the school may decide
                if (await http.get(f"/staff/requests/{request_id}")).json()[
                    "status"
                ] == "awaiting_review":
                    break
                await asyncio.sleep(0.1)
            approved = await http.post(
                f"/staff/requests/{request_id}/approve",
                json={"corrected_birthdate": believed.isoformat()},
            )
            assert approved.status_code == 200, approved.text

        await resumed_from_the_request_page(page, base, believed)
        await check.visit(page, "demande-acceptee")
        await page.get_by_role("link", name="Reprendre l’activation de votre compte").click()
        await page.wait_for_url(f"{base}/activation/gerer-mon-compte")
        assert "Étape 1 sur 3" in await page.content()
        await fill_profile(page, "Printemps26x", email, believed.strftime("%d/%m/%Y"))
        await page.wait_for_url(f"{base}/activation/activer-mon-compte")
    finally:
        await context.close()


async def test_a_ticket_to_the_academie(stack, browser):
    school = await stack.pool.fetchrow("SELECT uai, academie FROM schools LIMIT 1")
    check = PageCheck()
    context, page = await new_page(browser)
    base = stack.api_url
    try:
        await page.goto(f"{base}/identifiant-oublie")
        await page.get_by_role("link", name="Contactez l’assistance de votre académie").click()
        await page.wait_for_url(f"{base}/assistance/contact")
        await check.visit(page, "assistance-contact")
        await page.locator("#last_name").fill("Martin")
        await page.locator("#first_name").fill("Claire")
        await page.locator("#email").fill("claire.martin.e2e@example.org")
        await page.locator("#category").select_option("connexion")
        await page.locator("#message").fill("Je n’ai plus accès à mon adresse ni à mon numéro.")
        await page.get_by_role("button", name="Envoyer ma demande").click()
        await page.wait_for_url(f"{base}/assistance/contact")
        assert await codes_in_summary(page) == ["assistance_academie_unknown"]
        await check.visit(page, "assistance-contact-erreur")
        await page.locator("#academie").select_option(school["academie"])
        await page.get_by_role("button", name="Envoyer ma demande").click()
        await page.wait_for_url(f"{base}/assistance/contact/envoyee")
        assert "Référence" in await page.locator("[data-ticket-sent]").inner_text()
        await check.visit(page, "assistance-contact-envoyee")
    finally:
        await context.close()
