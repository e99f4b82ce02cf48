"""The guardian's activation walked in Chromium on the dev stack (real worker
and API processes, real PostgreSQL, the SMTP sink), typing into the pages as a
parent does: the school's notification email read over SMTP, sign-in on `/`,
"Gérer mon compte", "Activer votre compte", the link of the email, the
confirmation, then the portal; once with JavaScript and once without; and the
blocked path up to its page. Every page visited passes axe-core and is
photographed at 360 px and 1280 px (`.artefacts/screenshots/`)."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import DEMO_UAIS
from tests.support.browser import PageCheck, browser  # noqa: F401 (fixture)
from tests.support.mail import NOTIFICATION_SUBJECT, Mailbox, link_in, provisional_credentials

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONFIRMATION_SUBJECT = "Mise à disposition de services en ligne"
WALK = [
    "accueil",
    "accueil-erreur",
    "gerer-mon-compte",
    "gerer-mon-compte-erreurs",
    "activer-votre-compte",
    "lien-confirmation",
    "lien-compte-active",
    "activation-terminee",
    "portail",
]
USED: set[str] = set()  # guardians walked by this module


async def a_notified_guardian(stack, mailbox: Mailbox):
    """A demo guardian not yet activated, with the school's notification
    email (taken from the end of the list: other tests take from its start)."""
    rows = await stack.pool.fetch(
        "SELECT a.identifier, a.email, min(p.birthdate) AS birthdate FROM accounts a "
        "JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id JOIN pupils p ON p.id = gp.pupil_id "
        "WHERE a.kind = 'guardian' AND a.state = 'provisioned' AND a.email IS NOT NULL "
        "AND p.uai = ANY($1::text[]) "
        "GROUP BY a.identifier, a.email ORDER BY a.identifier DESC",
        DEMO_UAIS,
    )
    for row in rows:
        if row["identifier"] in USED:
            continue
        notices = [m for m in mailbox.to(row["email"]) if m.subject == NOTIFICATION_SUBJECT]
        if notices:
            identifier, password = provisional_credentials(notices[0].text)
            assert identifier == row["identifier"]
            USED.add(identifier)
            return row["email"], identifier, password, row["birthdate"]
    raise AssertionError("no notified demo guardian left")


async def sign_in(page, base: str, identifier: str, password: str) -> None:
    await page.goto(f"{base}/")
    await page.get_by_label("Identifiant", exact=False).first.fill(identifier)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name="Se connecter").click()


async def fill_profile(page, password: str, email: str, birthdate: str, *, confirmation=None):
    await page.locator("#password").fill(password)
    await page.locator("#password_confirmation").fill(password)
    await page.locator("#email").fill(email)
    await page.locator("#email_confirmation").fill(confirmation or email)
    await page.locator("#child_birthdate").fill(birthdate)
    await page.get_by_role("button", name="Valider").click()


async def walk_activation(stack, mailbox: Mailbox, browser, *, javascript: bool) -> PageCheck:
    shots = True
    email, identifier, provisional, birthdate = await a_notified_guardian(stack, mailbox)
    new_password = "Printemps26x" if javascript else "Automne2026z"
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", java_script_enabled=javascript
    )
    twin = None if javascript else await browser.new_context(locale="fr-FR")
    check = PageCheck(prefix="" if javascript else "sans-js-", twin=twin)
    try:
        page = await context.new_page()
        base = stack.api_url

        await page.goto(f"{base}/")
        await check.visit(page, "accueil", screenshots=shots)
        # The wrong password first: said above the form, the identifier kept.
        await sign_in(page, base, identifier, "Mauvais123x")
        await page.wait_for_url(f"{base}/")
        summary = page.locator("[data-error-summary]")
        assert await summary.get_attribute("data-code") == "invalid_credentials"
        assert await page.locator("#identifier").input_value() == identifier
        assert await page.locator("#password").input_value() == ""
        if javascript:
            assert await page.evaluate("document.activeElement.id") == "erreurs"
        await check.visit(page, "accueil-erreur", screenshots=shots)

        await sign_in(page, base, identifier, provisional)
        await page.wait_for_url(f"{base}/activation/gerer-mon-compte")
        assert "Étape 1 sur 3" in await page.content()
        if javascript:  # the rules are ticked as they are met
            await page.locator("#password").fill("abc")
            rule = page.locator('[data-rule="password_letter"]')
            assert "fr-message--valid" in (await rule.get_attribute("class"))
            length = page.locator('[data-rule="password_length"]')
            assert "fr-message--valid" not in (await length.get_attribute("class"))
        await check.visit(page, "gerer-mon-compte", screenshots=shots)

        # Broken rules and two different addresses: each at its field, in the summary.
        await fill_profile(
            page, "court", email, birthdate.strftime("%d/%m/%Y"), confirmation="autre@example.fr"
        )
        await page.wait_for_url(f"{base}/activation/gerer-mon-compte")
        codes = await page.locator("[data-error-summary] [data-code]").evaluate_all(
            "nodes => nodes.map(n => n.dataset.code)"
        )
        assert "email_mismatch" in codes
        assert await page.locator("#email").input_value() == email
        assert await page.locator("#password").input_value() == ""
        if javascript:
            assert await page.evaluate("document.activeElement.id") == "erreurs"
        await check.visit(page, "gerer-mon-compte-erreurs", screenshots=shots)

        await fill_profile(page, new_password, email, birthdate.strftime("%d/%m/%Y"))
        await page.wait_for_url(f"{base}/activation/activer-mon-compte")
        messages = await mailbox.wait_for(email, 2)
        sent = re.compile(r"Un lien a été envoyé à \w\*\*\*@\w\*\*\*\.\w+ le \d")
        if javascript:  # the status comes by itself
            await page.locator("[data-link-sent]", has_text=sent).wait_for(timeout=15_000)
        else:
            await page.get_by_role("button", name="Actualiser").click()
        text = await page.locator("[data-link-sent]").inner_text()
        assert sent.search(text), text
        assert "il expire le" in text
        await check.visit(page, "activer-votre-compte", screenshots=shots)

        # The email's link, opened in another tab as from the mail app.
        [confirmation] = [m for m in messages if m.subject.startswith(CONFIRMATION_SUBJECT)]
        link_page = await context.new_page()
        await link_page.goto(link_in(confirmation))
        await check.visit(link_page, "lien-confirmation", screenshots=shots)
        await link_page.get_by_role("button", name="Activer mon compte").click()
        await link_page.get_by_role("heading", name="Compte activé").wait_for()
        await check.visit(link_page, "lien-compte-active", screenshots=shots)
        await link_page.close()

        # The waiting tab moves on: by itself with JavaScript, with "Actualiser" without.
        if javascript:
            await page.wait_for_url(f"{base}/activation/terminee", timeout=20_000)
        else:
            await page.get_by_role("button", name="Actualiser").click()
            await page.wait_for_url(f"{base}/activation/terminee")
        assert "Étape 3 sur 3" in await page.content()
        await check.visit(page, "activation-terminee", screenshots=shots)

        await sign_in(page, base, identifier, new_password)
        await page.wait_for_url(f"{base}/portail")
        assert await page.locator("[data-identifier]").inner_text() == identifier
        assert await page.locator("[data-child]").count() >= 1
        await check.visit(page, "portail", screenshots=shots)
    finally:
        await context.close()
        if twin is not None:
            await twin.close()
    return check


async def test_guardian_activation_walked_in_the_browser(stack, mailbox: Mailbox, browser):
    check = await walk_activation(stack, mailbox, browser, javascript=True)
    assert check.visited == WALK


async def test_guardian_activation_walked_without_javascript(stack, mailbox: Mailbox, browser):
    check = await walk_activation(stack, mailbox, browser, javascript=False)
    assert check.visited == WALK


async def test_three_wrong_birthdates_lead_to_the_blocked_page(stack, mailbox: Mailbox, browser):
    check = PageCheck()
    email, identifier, provisional, _ = await a_notified_guardian(stack, mailbox)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    try:
        page = await context.new_page()
        await sign_in(page, stack.api_url, identifier, provisional)
        await page.wait_for_url(f"{stack.api_url}/activation/gerer-mon-compte")
        for left in (2, 1):
            await fill_profile(page, "Printemps26x", email, "01/01/2001")
            await page.wait_for_url(f"{stack.api_url}/activation/gerer-mon-compte")
            assert (
                f"Il vous reste {left} essai"
                in await page.locator("[data-error-summary]").inner_text()
            )
            assert await page.locator("#child_birthdate").input_value() == "01/01/2001"
        await check.visit(page, "gerer-mon-compte-date-refusee")
        await fill_profile(page, "Printemps26x", email, "01/01/2001")
        await page.wait_for_url(f"{stack.api_url}/activation/date-de-naissance-bloquee")
        alert = page.locator('[data-code="birthdate_blocked"]')
        assert await alert.count() == 1
        link = page.get_by_role("link", name="Demander la correction de la date de naissance")
        assert await link.get_attribute("href") == "/assistance/correction-date-de-naissance"
        await check.visit(page, "date-de-naissance-bloquee")
        # Signing in again later lands on the same step.
        await context.clear_cookies()
        await sign_in(page, stack.api_url, identifier, provisional)
        await page.wait_for_url(f"{stack.api_url}/activation/date-de-naissance-bloquee")
    finally:
        await context.close()
