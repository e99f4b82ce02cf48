"""S'identifier avec FranceConnect walked in Chromium on the dev stack (real
worker and API processes, real PostgreSQL with the demo data, the loopback
provider in FranceConnect v2's shape with its sign-in page, the real HTTP SMS
gateway), clicking and typing as a parent does:

the FranceConnect button of `/`, the provider's sign-in page, back on our
pages: the mobile (mistyped, then "Modifier le numéro"), a wrong code then
the code read from the gateway, a wrong birthdate then a child's, linked:
the portal (a card per child, the account menu). "Se déconnecter" ends the
FranceConnect session too (end_session) and comes back to « Vous êtes
déconnecté »; the second visit goes straight to the portal. With JavaScript
off, a first visit up to the blocked page (three wrong birthdates) and its
way to the correction request. And "Revenir sur
le service" at FranceConnect: the cancelled page, back to `/`. Every page of
ours passes axe-core and is photographed at 360 px and 1280 px."""

from __future__ import annotations

import re

import pytest

from educonnect.devtools.oidc_provider import ProviderIdentity
from tests.e2e.test_franceconnect_e2e import a_demo_guardian_without_account, typed
from tests.support.browser import PageCheck, browser  # noqa: F401 (fixture)
from tests.support.sms import SmsOutbox, code_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

WALK = [
    "fc-numero-mobile",
    "fc-code",
    "fc-modifier-le-numero",
    "fc-code-erreur",
    "fc-date-de-naissance",
    "fc-date-de-naissance-erreur",
    "fc-portail",
    "fc-deconnecte",
]


async def through_franceconnect(page, base: str, sub: str) -> None:
    """The FranceConnect button of `/`, then the provider's sign-in page."""
    await page.goto(f"{base}/")
    await page.locator("button.fr-connect").click()
    # Its identity buttons share their form with the "Autre identifiant" field
    # (the field's empty value would win): the field, then "Continuer".
    await page.get_by_label("Autre identifiant (sub)").fill(sub)
    await page.get_by_role("button", name="Continuer").click()


async def test_first_visit_sign_out_and_second_visit_in_the_browser(
    stack, oidc_provider, sms_gateway, browser
):
    guardian, children = await a_demo_guardian_without_account(stack)
    identity = ProviderIdentity(
        sub=f"fc-pages-{guardian['id'].hex[:10]}",
        given_name=guardian["first_name"],
        family_name=guardian["last_name"].upper(),
    )
    oidc_provider.set_identity(identity)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    mobile = guardian["mobile"]
    mistyped = mobile[:-2] + ("00" if mobile[-2:] != "00" else "11")
    base = stack.api_url
    check = PageCheck()
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    try:
        page = await context.new_page()
        await through_franceconnect(page, base, identity.sub)
        await page.wait_for_url(f"{base}/franceconnect/premiere-connexion/mobile")
        assert "Étape 1 sur 3" in await page.content()
        await check.visit(page, "fc-numero-mobile")

        # A mistyped number: the same answer as any (no enumeration), then corrected.
        await page.locator("#mobile").fill(typed(mistyped))
        await page.get_by_role("button", name="Recevoir un code par SMS").click()
        await page.wait_for_url(f"{base}/franceconnect/premiere-connexion/code")
        code_input = page.locator("#code")
        assert await code_input.get_attribute("autocomplete") == "one-time-code"
        assert await code_input.get_attribute("inputmode") == "numeric"
        assert "Étape 2 sur 3" in await page.content()
        await check.visit(page, "fc-code")
        await page.get_by_role("link", name="Modifier le numéro").click()
        await page.wait_for_url(f"{base}/franceconnect/premiere-connexion/modifier-le-numero")
        await check.visit(page, "fc-modifier-le-numero")
        await page.locator("#mobile").fill(typed(mobile))
        await page.get_by_role("button", name="Envoyer un nouveau code").click()
        await page.wait_for_url(f"{base}/franceconnect/premiere-connexion/code")
        assert "Numéro modifié" in await page.locator("[role=status]").inner_text()
        [sms] = await outbox.wait_for(mobile, 1)
        assert outbox.to(mistyped) == []

        # A wrong code: at its field and in the summary, with the tries left.
        wrong = "000000" if code_in(sms) != "000000" else "111111"
        await code_input.fill(wrong)
        await page.get_by_role("button", name="Valider le code").click()
        await page.wait_for_url(f"{base}/franceconnect/premiere-connexion/code")
        summary = page.locator("[data-error-summary]")
        assert await summary.get_attribute("data-code") == "sms_code_incorrect"
        assert "Il vous reste 4 essais" in await page.locator("#code-messages").inner_text()
        assert await page.evaluate("document.activeElement.id") == "erreurs"
        await check.visit(page, "fc-code-erreur")
        await code_input.fill(code_in(sms))
        await page.get_by_role("button", name="Valider le code").click()

        await page.wait_for_url(f"{base}/franceconnect/premiere-connexion/date-de-naissance")
        assert "Étape 3 sur 3" in await page.content()
        await check.visit(page, "fc-date-de-naissance")
        await page.locator("#child_birthdate").fill("01/01/2001")
        await page.get_by_role("button", name="Valider").click()
        await page.wait_for_url(f"{base}/franceconnect/premiere-connexion/date-de-naissance")
        assert "Il vous reste 2 essais" in await summary.inner_text()
        assert await page.locator("#child_birthdate").input_value() == "01/01/2001"
        await check.visit(page, "fc-date-de-naissance-erreur")
        await page.locator("#child_birthdate").fill(children[0]["birthdate"].strftime("%d/%m/%Y"))
        await page.get_by_role("button", name="Valider").click()

        # Linked: the portal, a card per child, the account menu.
        await page.wait_for_url(f"{base}/portail")
        identifier = await page.locator("[data-identifier]").inner_text()
        account = await stack.pool.fetchrow(
            "SELECT guardian_id, state FROM accounts WHERE identifier = $1", identifier
        )
        assert account["guardian_id"] == guardian["id"] and account["state"] == "active"
        cards = page.locator("[data-child]")
        assert await cards.count() == len(children)
        names = " ".join(await cards.all_inner_texts())
        assert all(c["first_name"] in names for c in children)
        menu = page.get_by_role("navigation", name="Mon compte")
        assert (
            await menu.get_by_role("link", name="Mon compte").get_attribute("href") == "/mon-compte"
        )
        await check.visit(page, "fc-portail")

        # Sign-out from the header: EduConnect, FranceConnect's end_session, back here.
        assert oidc_provider.live_sessions(identity.sub) == 1
        await menu.get_by_role("button", name="Se déconnecter").click()
        await page.wait_for_url(re.compile(re.escape(f"{base}/franceconnect/logout/callback")))
        await page.get_by_role("heading", name="Vous êtes déconnecté").wait_for()
        assert oidc_provider.live_sessions(identity.sub) == 0
        await check.visit(page, "fc-deconnecte")
        await page.goto(f"{base}/portail")
        await page.wait_for_url(f"{base}/")  # no session: home, saying why

        # Second visit: FranceConnect asks to sign in again, then straight to the portal.
        await through_franceconnect(page, base, identity.sub)
        await page.wait_for_url(f"{base}/portail")
        assert await page.locator("[data-identifier]").inner_text() == identifier
    finally:
        await context.close()
    assert check.visited == WALK


async def test_three_wrong_birthdates_without_javascript_lead_to_the_blocked_page(
    stack, oidc_provider, sms_gateway, browser
):
    guardian, _ = await a_demo_guardian_without_account(stack)
    identity = ProviderIdentity(
        sub=f"fc-pages-{guardian['id'].hex[:10]}",
        given_name=guardian["first_name"],
        family_name=guardian["last_name"].upper(),
    )
    oidc_provider.set_identity(identity)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    base, first_visit = stack.api_url, f"{stack.api_url}/franceconnect/premiere-connexion"
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", java_script_enabled=False
    )
    twin = await browser.new_context(locale="fr-FR")
    check = PageCheck(prefix="sans-js-", twin=twin)
    try:
        page = await context.new_page()
        await through_franceconnect(page, base, identity.sub)
        await page.wait_for_url(f"{first_visit}/mobile")
        earlier = len(outbox.to(guardian["mobile"]))  # codes of other tests' attempts
        await page.locator("#mobile").fill(typed(guardian["mobile"]))
        await page.get_by_role("button", name="Recevoir un code par SMS").click()
        await page.wait_for_url(f"{first_visit}/code")
        [sms] = (await outbox.wait_for(guardian["mobile"], earlier + 1))[earlier:]
        await page.locator("#code").fill(code_in(sms))
        await page.get_by_role("button", name="Valider le code").click()
        for _ in range(3):
            await page.wait_for_url(f"{first_visit}/date-de-naissance")
            await page.locator("#child_birthdate").fill("01/01/2001")
            await page.get_by_role("button", name="Valider").click()
        await page.wait_for_url(f"{first_visit}/date-de-naissance-bloquee")
        assert await page.locator('[data-code="birthdate_blocked"]').count() == 1
        link = page.get_by_role("link", name="Demander la correction de la date de naissance")
        correction = "/franceconnect/premiere-connexion/correction-date-de-naissance"
        assert await link.get_attribute("href") == correction
        await check.visit(page, "fc-date-de-naissance-bloquee")
        await link.click()  # the form's page (api/web/assistance.py), JavaScript off
        await page.wait_for_url(f"{stack.api_url}{correction}")
        assert await page.locator('[name="pupil_id"]').count() >= 1
        await check.visit(page, "fc-correction-date-de-naissance")
    finally:
        await context.close()
        await twin.close()
    assert check.visited == ["fc-date-de-naissance-bloquee", "fc-correction-date-de-naissance"]


async def test_cancelled_at_franceconnect_in_the_browser(stack, oidc_provider, browser):
    base = stack.api_url
    check = PageCheck()
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    try:
        page = await context.new_page()
        await page.goto(f"{base}/")
        await page.locator("button.fr-connect").click()
        await page.get_by_role("button", name="Revenir sur le service").click()
        await page.wait_for_url(re.compile(re.escape(f"{base}/franceconnect/connexion-impossible")))
        alert = page.locator('[data-code="franceconnect_cancelled"]')
        assert "annulée" in await alert.inner_text()
        await check.visit(page, "fc-annulee")
        await page.get_by_role("link", name="Retour à l’accueil").click()
        await page.wait_for_url(f"{base}/")
    finally:
        await context.close()
    assert check.visited == ["fc-annulee"]
