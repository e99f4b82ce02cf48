"""The pupil's activation and SMS self-registration walked in Chromium on
the dev stack (real worker and API processes, real PostgreSQL, the SMTP sink,
the HTTP SMS gateway), typing into the pages:

- a pupil signs in on `/` with the school's credentials, "Gérer mon compte"
  (a wrong birthdate first), with an address: "Activer votre compte", the
  link of the email read over SMTP, the end; without one ("Continuer sans
  adresse", JavaScript off): active at once, told what that costs;
- "Je n'ai pas de compte" from `/`: names and mobile (with JavaScript,
  unknown names first: the same page), the code read from the SMS gateway
  (a wrong one first), a child's birthdate, the password, the welcome page
  with the new identifier, the portal; once with JavaScript and once without;
- three wrong birthdates: each process's blocked page and its correction form.

Every page visited passes axe-core and is photographed at 360 px and 1280 px
(`.artefacts/screenshots/`); without JavaScript, the pages whose HTML the
walk with it already checked are walked through, not checked again."""

from __future__ import annotations

import re

import pytest

from tests.support.browser import PageCheck, browser  # noqa: F401 (fixture)
from tests.support.mail import Mailbox, link_in
from tests.support.pupils import make_pupil
from tests.support.sms import SmsOutbox, code_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

USED: set = set()  # guardians registered by this module


async def new_context(browser, *, javascript: bool = True):
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", java_script_enabled=javascript
    )
    twin = None if javascript else await browser.new_context(locale="fr-FR")
    return context, twin, PageCheck(prefix="" if javascript else "sans-js-", twin=twin)


async def sign_in(page, base: str, identifier: str, password: str) -> None:
    await page.goto(f"{base}/")
    await page.locator("#identifier").fill(identifier)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name="Se connecter").click()


async def summary_codes(page) -> list[str]:
    return await page.locator("[data-error-summary] [data-code]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.code)"
    )


# --- pupil activation --------------------------------------------------------------------------


async def test_pupil_activation_with_an_address(stack, mailbox: Mailbox, browser):
    pupil = await make_pupil(stack.pool)
    base, email = stack.api_url, f"{pupil.identifier}@example.fr"
    context, _, check = await new_context(browser)
    try:
        page = await context.new_page()
        await sign_in(page, base, pupil.identifier, pupil.provisional_password)
        await page.wait_for_url(f"{base}/activation-eleve/gerer-mon-compte")
        assert "Étape 1 sur 3" in await page.content()
        assert await page.locator("[data-identifier]").inner_text() == pupil.identifier
        assert await page.locator("[data-without-email-warning]").count() == 1
        await check.visit(page, "eleve-gerer-mon-compte")

        async def fill(birthdate: str) -> None:
            await page.locator("#password").fill("Cartable26x")
            await page.locator("#password_confirmation").fill("Cartable26x")
            await page.locator("#birthdate").fill(birthdate)
            await page.locator("#email").fill(email)
            await page.locator("#email_confirmation").fill(email)
            await page.get_by_role("button", name="Valider").click()

        await fill("01/01/2001")  # not their birthdate: said at the field, tries left
        await page.wait_for_url(f"{base}/activation-eleve/gerer-mon-compte")
        assert await summary_codes(page) == ["birthdate_incorrect"]
        assert "Il vous reste 2 essais" in await page.locator("#birthdate-messages").inner_text()
        assert await page.locator("#email").input_value() == email
        assert await page.evaluate("document.activeElement.id") == "erreurs"
        await check.visit(page, "eleve-gerer-mon-compte-erreur")

        await fill(pupil.birthdate.strftime("%d/%m/%Y"))
        await page.wait_for_url(f"{base}/activation-eleve/activer-mon-compte")
        assert "Étape 2 sur 3" in await page.content()
        [message] = await mailbox.wait_for(email, 1)
        sent = re.compile(r"Un lien a été envoyé à \w\*\*\*@\w\*\*\*\.\w+ le \d")
        await page.locator("[data-link-sent]", has_text=sent).wait_for(timeout=15_000)
        assert await page.get_by_role("button", name="Continuer sans adresse").count() == 1
        await check.visit(page, "eleve-activer-votre-compte")

        link_page = await context.new_page()
        await link_page.goto(link_in(message))
        await link_page.get_by_role("button", name="Activer mon compte").click()
        await link_page.get_by_role("heading", name="Compte activé").wait_for()
        await link_page.close()

        await page.wait_for_url(f"{base}/activation-eleve/terminee", timeout=20_000)
        assert "Étape 3 sur 3" in await page.content()
        assert pupil.identifier in await page.locator("main").inner_text()
        assert await page.locator("[data-recovery-notice]").count() == 0
        await check.visit(page, "eleve-activation-terminee")
    finally:
        await context.close()
    account = await stack.pool.fetchrow(
        "SELECT state, email, email_verified_at FROM accounts WHERE id = $1", pupil.account_id
    )
    assert account["state"] == "active" and account["email"] == email
    assert account["email_verified_at"] is not None


async def test_pupil_activation_without_an_address_and_without_javascript(stack, browser):
    pupil = await make_pupil(stack.pool)
    base = stack.api_url
    context, twin, check = await new_context(browser, javascript=False)
    try:
        page = await context.new_page()
        await sign_in(page, base, pupil.identifier, pupil.provisional_password)
        await page.wait_for_url(f"{base}/activation-eleve/gerer-mon-compte")
        await page.locator("#password").fill("Trousse27y")
        await page.locator("#password_confirmation").fill("Trousse27y")
        await page.locator("#birthdate").fill(pupil.birthdate.strftime("%d/%m/%Y"))
        await check.visit(page, "eleve-gerer-mon-compte")
        await page.get_by_role("button", name="Continuer sans adresse").click()

        await page.wait_for_url(f"{base}/activation-eleve/terminee")
        assert "Étape 3 sur 3" in await page.content()
        notice = await page.locator("[data-recovery-notice]").inner_text()
        assert "vous ne pourrez pas les récupérer seul" in notice
        await check.visit(page, "eleve-activation-sans-adresse")

        # Signing in again: the account is active with the new password.
        await sign_in(page, base, pupil.identifier, "Trousse27y")
        await page.wait_for_url(re.compile(r".*/portail$"))
    finally:
        await context.close()
        if twin is not None:
            await twin.close()
    account = await stack.pool.fetchrow(
        "SELECT state, email FROM accounts WHERE id = $1", pupil.account_id
    )
    assert account["state"] == "active" and account["email"] is None


# --- SMS self-registration ---------------------------------------------------------------------


async def a_guardian_without_account(stack):
    """A demo guardian with a mobile and children, no account and no SMS yet
    (taken from the start of the list: test_registration_e2e takes from its end)."""
    rows = await stack.pool.fetch(
        """
        SELECT g.id, g.last_name, g.first_name, g.mobile FROM guardians g
        WHERE g.mobile IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.guardian_id = g.id)
          AND NOT EXISTS (SELECT 1 FROM sms_codes c WHERE c.mobile = g.mobile)
          AND EXISTS (SELECT 1 FROM guardian_pupils gp WHERE gp.guardian_id = g.id)
        ORDER BY g.id LIMIT 5
        """
    )
    guardian = next(r for r in rows if r["id"] not in USED)
    USED.add(guardian["id"])
    birthdate = await stack.pool.fetchval(
        "SELECT min(p.birthdate) FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id "
        "WHERE gp.guardian_id = $1",
        guardian["id"],
    )
    return guardian, birthdate


def as_typed(e164: str) -> str:
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


async def start(page, last_name: str, first_name: str, mobile: str) -> None:
    await page.locator("#last_name").fill(last_name)
    await page.locator("#first_name").fill(first_name)
    await page.locator("#mobile").fill(mobile)
    await page.get_by_role("button", name="Recevoir un code par SMS").click()


CODE_PAGE = re.compile(r".*/inscription/[0-9a-f-]{36}/code$")


@pytest.mark.parametrize("javascript", [True, False], ids=["avec-js", "sans-js"])
async def test_sms_registration_walked_in_the_browser(stack, sms_gateway, browser, javascript):
    guardian, birthdate = await a_guardian_without_account(stack)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    base = stack.api_url
    context, twin, check = await new_context(browser, javascript=javascript)
    try:
        page = await context.new_page()
        await page.goto(f"{base}/")
        await page.get_by_role(
            "link", name="Je n’ai pas de compte : m’inscrire avec mon numéro de mobile"
        ).click()
        await page.wait_for_url(f"{base}/inscription")
        assert "Étape 1 sur 5" in await page.content()
        unknown = None
        if javascript:  # the server's pages are the same either way: checked once
            await check.visit(page, "inscription")
            # Names no school knows: the very same next page (nothing tells a match).
            await start(page, "Personne", "Inconnue", "06 99 98 97 96")
            await page.wait_for_url(CODE_PAGE)
            unknown = await page.locator("[data-started-message]").inner_text()
            await page.goto(f"{base}/inscription")

        await start(
            page,
            guardian["last_name"].upper(),
            guardian["first_name"],
            as_typed(guardian["mobile"]),
        )
        await page.wait_for_url(CODE_PAGE)
        code_url = page.url
        if unknown is not None:
            assert await page.locator("[data-started-message]").inner_text() == unknown
        assert "Étape 2 sur 5" in await page.content()
        [sms] = await outbox.wait_for(guardian["mobile"], 1, timeout=30)
        wait = page.locator("[data-countdown]")
        if javascript:  # while the code was on its way, the page reloads itself
            await wait.wait_for(timeout=10_000)
        elif not await wait.count():
            await page.get_by_role("link", name="actualisez cette page").click()
        field = page.locator("#code")
        assert await field.get_attribute("autocomplete") == "one-time-code"
        assert await field.get_attribute("inputmode") == "numeric"
        assert "Vous pourrez demander un nouveau code dans" in await wait.inner_text()
        resend = page.get_by_role("button", name="Renvoyer le code")
        assert await resend.is_disabled() == javascript  # the script waits with the server
        await check.visit(page, "inscription-code")

        code = code_in(sms)
        wrong = f"{(int(code[0]) + 1) % 10}{code[1:]}"
        await field.fill(wrong)
        await page.get_by_role("button", name="Valider le code").click()
        await page.wait_for_url(code_url)
        assert await summary_codes(page) == ["sms_code_incorrect"]
        assert "Il vous reste 4 essais" in await page.locator("#code-messages").inner_text()
        if javascript:
            await check.visit(page, "inscription-code-erreur")

        await page.locator("#code").fill(code)
        await page.get_by_role("button", name="Valider le code").click()
        await page.wait_for_url(re.compile(r".*/date-de-naissance$"))
        assert "Étape 3 sur 5" in await page.content()
        assert "Vous disposez de 3 essais" in await page.content()
        if javascript:
            await check.visit(page, "inscription-date-de-naissance")
        await page.locator("#birthdate").fill(birthdate.strftime("%d/%m/%Y"))
        await page.get_by_role("button", name="Valider").click()

        await page.wait_for_url(re.compile(r".*/mot-de-passe$"))
        assert "Étape 4 sur 5" in await page.content()
        assert await page.locator("[data-rule]").count() == 7
        if javascript:  # without it: the same HTML, the rules not ticked
            await check.visit(page, "inscription-mot-de-passe")
        password = "Marelle26q" if javascript else "Toupie27w"
        await page.locator("#password").fill(password)
        await page.locator("#password_confirmation").fill(password)
        await page.get_by_role("button", name="Créer mon compte").click()

        await page.wait_for_url(re.compile(r".*/bienvenue$"))
        identifier = await page.locator("[data-identifier]").inner_text()
        assert "Notez-le" in await page.locator("[data-welcome]").inner_text()
        await check.visit(page, "inscription-bienvenue")
        await page.get_by_role("link", name="Accéder à mes services").click()
        await page.wait_for_url(f"{base}/portail")  # signed in by the registration
        assert await page.locator("[data-identifier]").inner_text() == identifier
    finally:
        await context.close()
        if twin is not None:
            await twin.close()
    account = await stack.pool.fetchrow(
        "SELECT state, mobile FROM accounts WHERE identifier = $1", identifier
    )
    assert account["state"] == "active" and account["mobile"] == guardian["mobile"]


async def test_blocked_pages_lead_to_the_correction_forms(stack, sms_gateway, browser):
    """Three wrong birthdates: the pupil's blocked page and the registration's."""
    base = stack.api_url
    pupil = await make_pupil(stack.pool)
    guardian, _ = await a_guardian_without_account(stack)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    context, _, check = await new_context(browser)
    try:
        page = await context.new_page()
        await sign_in(page, base, pupil.identifier, pupil.provisional_password)
        await page.wait_for_url(f"{base}/activation-eleve/gerer-mon-compte")
        for _ in range(3):
            await page.locator("#password").fill("Cartable26x")
            await page.locator("#password_confirmation").fill("Cartable26x")
            await page.locator("#birthdate").fill("01/01/2001")
            async with page.expect_navigation():
                await page.get_by_role("button", name="Continuer sans adresse").click()
        await page.wait_for_url(f"{base}/activation-eleve/date-de-naissance-bloquee")
        link = page.get_by_role("link", name="Demander la correction de ma date de naissance")
        assert await link.get_attribute("href") == "/activation-eleve/correction-date-de-naissance"
        await check.visit(page, "eleve-date-de-naissance-bloquee")
        await link.click()  # the correction of their own birthdate (api/web/assistance.py)
        await page.wait_for_url(f"{base}/activation-eleve/correction-date-de-naissance")
        assert await page.locator("#proposed_birthdate").count() == 1
        await check.visit(page, "eleve-correction-date-de-naissance")

        await page.goto(f"{base}/inscription")
        await start(
            page, guardian["last_name"], guardian["first_name"], as_typed(guardian["mobile"])
        )
        await page.wait_for_url(CODE_PAGE)
        registration_id = page.url.split("/")[-2]
        [sms] = await outbox.wait_for(guardian["mobile"], 1, timeout=30)
        await page.goto(page.url)
        await page.locator("#code").fill(code_in(sms))
        await page.get_by_role("button", name="Valider le code").click()
        await page.wait_for_url(re.compile(r".*/date-de-naissance$"))
        for _ in range(3):
            await page.locator("#birthdate").fill("01/01/2001")
            async with page.expect_navigation():
                await page.get_by_role("button", name="Valider").click()
        await page.wait_for_url(re.compile(r".*/date-de-naissance-bloquee$"))
        assert await page.locator('[data-code="birthdate_blocked"]').count() == 1
        link = page.get_by_role("link", name="Demander la correction de la date de naissance")
        correction = f"/inscription/{registration_id}/correction-date-de-naissance"
        assert await link.get_attribute("href") == correction
        await check.visit(page, "inscription-date-de-naissance-bloquee")
        await link.click()
        await page.wait_for_url(f"{base}{correction}")
        assert await page.locator('[name="pupil_id"]').count() >= 1
        await check.visit(page, "inscription-correction-date-de-naissance")
    finally:
        await context.close()
