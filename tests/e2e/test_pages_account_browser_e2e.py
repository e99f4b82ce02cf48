"""« Mon compte » walked in Chromium on the dev stack (real worker and API
processes, real PostgreSQL, the SMTP sink), typing into the pages as a parent
does: an activated guardian signs in on `/` and goes to Mon compte; changes
the address (the old address told, the new one's link read over SMTP — its
HTML part too — and clicked); changes the password after confirming their
identity (the sign-in made old), then signs in with it; merges a second
account; says "Je ne suis pas le représentant légal de cet enfant". Every page
visited passes axe-core and is photographed at 360 px and 1280 px
(`.artefacts/screenshots/`)."""

from __future__ import annotations

import re
import uuid

import pytest

from educonnect.emails.account import NEW_ADDRESS_SUBJECT
from educonnect.emails.html import MINISTRY
from educonnect.errors import ErrorCode
from tests.support.accounts import make_active_account
from tests.support.browser import PageCheck, browser  # noqa: F401 (fixture)
from tests.support.mail import Mailbox, html_links, html_words, link_in, text_words

pytestmark = pytest.mark.asyncio(loop_scope="session")

REQUESTED_SUBJECT = "Demande de modification de l'adresse électronique de votre compte EduConnect"
CHANGED_SUBJECT = "L'adresse électronique de votre compte EduConnect a été modifiée"
PASSWORD_SUBJECT = "Le mot de passe de votre compte EduConnect a été modifié"
MERGE_SUBJECT = "Regroupement de vos comptes EduConnect"
WALK = [
    "mon-compte",
    "mon-compte-adresse",
    "mon-compte-adresse-erreur",
    "mon-compte-adresse-en-cours",
    "lien-validation-adresse",
    "lien-adresse-validee",
    "mon-compte-mot-de-passe-connexion-ancienne",
    "confirmer-mon-identite",
    "mon-compte-mot-de-passe",
    "mon-compte-mot-de-passe-erreur",
    "mon-compte-mot-de-passe-modifie",
    "regrouper-mes-comptes",
    "regroupement-termine",
    "pas-mon-enfant",
    "pas-mon-enfant-erreur",
    "signalement-transmis",
]


async def sign_in(page, base: str, identifier: str, password: str) -> None:
    await page.goto(f"{base}/")
    await page.locator("#identifier").fill(identifier)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name="Se connecter").click()


async def summary_codes(page) -> list[str]:
    return await page.locator("[data-error-summary] [data-code]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.code)"
    )


async def test_mon_compte_walked_in_the_browser(stack, mailbox: Mailbox, browser):
    base, pool = stack.api_url, stack.pool
    me = await make_active_account(pool)
    other = await make_active_account(pool, password="Marmotte27k")
    # The second account is the same person's (a school made it): same names.
    await pool.execute(
        "UPDATE guardians g SET last_name = m.last_name, first_name = m.first_name "
        "FROM guardians m WHERE g.id = $1 AND m.id = $2",
        other.family.guardian_id,
        me.family.guardian_id,
    )
    old_email, new_email = me.email, f"nouvelle.{uuid.uuid4().hex[:8]}@example.org"
    assert old_email is not None
    new_password = "Hirondelle26q"
    check = PageCheck()
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    try:
        page = await context.new_page()
        await sign_in(page, base, me.identifier, me.password)
        await page.wait_for_url(f"{base}/portail")
        await page.get_by_role("link", name="Mon compte").click()  # the account menu
        await page.wait_for_url(f"{base}/mon-compte")
        assert await page.locator("[data-identifier]").inner_text() == me.identifier
        assert await page.locator('[data-email-state="validated"]').count() == 1
        assert await page.locator("[data-child]").count() == 2
        await check.visit(page, "mon-compte")

        # --- the address: typed twice, the old one told, the new one's link clicked ---------
        await page.get_by_role("link", name="Modifier mon adresse électronique").click()
        await page.wait_for_url(f"{base}/mon-compte/adresse")
        await check.visit(page, "mon-compte-adresse")
        await page.locator("#email").fill(new_email)
        await page.locator("#email_confirmation").fill("autre@example.org")
        await page.get_by_role("button", name="Envoyer le lien de validation").click()
        await page.wait_for_url(f"{base}/mon-compte/adresse")
        assert await summary_codes(page) == [ErrorCode.EMAIL_MISMATCH.value]
        assert await page.locator("#email").input_value() == new_email
        assert await page.evaluate("document.activeElement.id") == "erreurs"
        await check.visit(page, "mon-compte-adresse-erreur")

        await page.locator("#email_confirmation").fill(new_email)
        await page.get_by_role("button", name="Envoyer le lien de validation").click()
        await page.wait_for_url(f"{base}/mon-compte/adresse")
        assert (
            "Deux courriels ont été envoyés" in await page.locator('[role="status"]').inner_text()
        )
        pending = await page.locator("[data-pending-change]").inner_text()
        assert new_email in pending and "il expire le" in pending
        told = (await mailbox.wait_for(old_email, 1, timeout=30))[0]
        assert told.subject == REQUESTED_SUBJECT and new_email in told.text
        [validation] = await mailbox.wait_for(new_email, 1, timeout=30)
        assert validation.subject == NEW_ADDRESS_SUBJECT
        # "Renvoyer le lien" within the minute: refused, and the page says from when.
        assert "Vous pourrez demander un nouveau lien à partir du" in pending
        await page.get_by_role("button", name="Renvoyer le lien").click()
        await page.wait_for_url(f"{base}/mon-compte/adresse")
        assert await summary_codes(page) == [ErrorCode.RESEND_TOO_SOON.value]
        await check.visit(page, "mon-compte-adresse-en-cours")
        link = link_in(validation)
        # Its HTML part: the same words, the link as a button and in full, no remote image.
        words = html_words(validation)
        assert all(text_words(line) in words for line in validation.text.split("\n"))
        assert (link, "Valider cette adresse") in html_links(validation)
        assert (link, link) in html_links(validation)
        assert MINISTRY in words and '<img src="http' not in validation.html

        link_page = await context.new_page()
        await link_page.goto(link)
        assert new_email in await link_page.locator("main").inner_text()
        await check.visit(link_page, "lien-validation-adresse")
        await link_page.get_by_role("button", name="Valider cette adresse").click()
        await link_page.get_by_role("heading", name="Adresse validée").wait_for()
        await check.visit(link_page, "lien-adresse-validee")
        await link_page.close()
        changed = (await mailbox.wait_for(old_email, 2, timeout=30))[1]
        assert changed.subject == CHANGED_SUBJECT and new_email in changed.text
        await page.goto(f"{base}/mon-compte")
        assert new_email in await page.locator("[data-email]").inner_text()
        assert await page.locator('[data-email-state="validated"]').count() == 1
        # Another change, then "Annuler la demande": the address stays.
        await page.goto(f"{base}/mon-compte/adresse")
        await page.locator("#email").fill(old_email)
        await page.locator("#email_confirmation").fill(old_email)
        await page.get_by_role("button", name="Envoyer le lien de validation").click()
        await page.locator("[data-pending-change]").wait_for()
        await page.get_by_role("button", name="Annuler la demande").click()
        assert "est annulée" in await page.locator('[role="status"]').inner_text()
        assert await page.locator("[data-pending-change]").count() == 0

        # --- the password: the sign-in made old, the identity confirmed, then the change -----
        await pool.execute(
            "UPDATE sessions SET created_at = now() - interval '20 minutes' WHERE account_id = $1",
            me.account_id,
        )
        await page.goto(f"{base}/mon-compte/mot-de-passe")
        notice = page.locator("[data-recent-sign-in-required]")
        assert await notice.get_attribute("data-code") == ErrorCode.RECENT_SIGN_IN_REQUIRED.value
        assert await page.locator("#new_password").count() == 0
        await check.visit(page, "mon-compte-mot-de-passe-connexion-ancienne")
        await page.get_by_role("link", name="Confirmer mon identité").click()
        await page.wait_for_url(re.compile(r"/mon-compte/confirmer-mon-identite\?suite="))
        await check.visit(page, "confirmer-mon-identite")
        await page.locator("#password").fill(me.password)
        await page.get_by_role("button", name="Confirmer").click()
        await page.wait_for_url(f"{base}/mon-compte/mot-de-passe")
        await page.locator("#new_password").fill("abc1")
        rule = page.locator('[data-rule="password_digit"]')
        assert "fr-message--valid" in (await rule.get_attribute("class"))
        await check.visit(page, "mon-compte-mot-de-passe")
        await page.locator("#current_password").fill("Mauvais27x")
        await page.locator("#new_password").fill(new_password)
        await page.locator("#new_password_confirmation").fill(new_password)
        await page.get_by_role("button", name="Modifier mon mot de passe").click()
        await page.wait_for_url(f"{base}/mon-compte/mot-de-passe")
        assert await summary_codes(page) == [ErrorCode.CURRENT_PASSWORD_INCORRECT.value]
        assert await page.locator("#current_password").input_value() == ""
        await check.visit(page, "mon-compte-mot-de-passe-erreur")
        await page.locator("#current_password").fill(me.password)
        await page.locator("#new_password").fill(new_password)
        await page.locator("#new_password_confirmation").fill(new_password)
        await page.get_by_role("button", name="Modifier mon mot de passe").click()
        await page.wait_for_url(f"{base}/mon-compte")
        assert (
            "Votre mot de passe est modifié" in await page.locator('[role="status"]').inner_text()
        )
        await check.visit(page, "mon-compte-mot-de-passe-modifie")
        assert any(m.subject == PASSWORD_SUBJECT for m in await mailbox.wait_for(new_email, 3))
        await page.get_by_role("button", name="Se déconnecter").click()
        await page.wait_for_url(f"{base}/")
        await sign_in(page, base, me.identifier, me.password)  # the old one: refused
        await page.wait_for_url(f"{base}/")
        assert await summary_codes(page) == [ErrorCode.INVALID_CREDENTIALS.value]
        await sign_in(page, base, me.identifier, new_password)
        await page.wait_for_url(f"{base}/portail")

        # --- merging the second account -------------------------------------------------------
        await page.goto(f"{base}/mon-compte")
        await page.get_by_role("link", name="Regrouper mes comptes").click()
        await page.wait_for_url(f"{base}/mon-compte/regrouper-mes-comptes")
        await check.visit(page, "regrouper-mes-comptes")
        await page.locator("#identifier").fill(other.identifier)
        await page.locator("#password").fill(other.password)
        await page.locator('label[for="confirmation"]').click()  # the DSFR box lies under its label
        await page.get_by_role("button", name="Regrouper les comptes").click()
        await page.wait_for_url(f"{base}/mon-compte/regrouper-mes-comptes/termine")
        done = await page.locator('[data-merge-step="merged"]').inner_text()
        assert "Vos comptes sont regroupés : 2 enfants" in done and other.identifier in done
        await check.visit(page, "regroupement-termine")
        told = await mailbox.wait_for(other.email or "", 1, timeout=30)
        assert any(m.subject == MERGE_SUBJECT for m in told)
        await page.goto(f"{base}/mon-compte")
        assert await page.locator("[data-child]").count() == 4

        # --- "Je ne suis pas le représentant légal de cet enfant" ------------------------------
        first_child = page.locator("[data-child]").first
        name = await first_child.locator("h3").inner_text()
        await first_child.get_by_role("link", name="Je ne suis pas le représentant légal").click()
        await page.wait_for_url("**/pas-mon-enfant")
        assert name in await page.locator("[data-child]").inner_text()
        await check.visit(page, "pas-mon-enfant")
        await page.get_by_role("button", name="Confirmer le signalement").click()
        await page.wait_for_url("**/pas-mon-enfant")
        assert await summary_codes(page) == [ErrorCode.INVALID_INPUT.value]
        await check.visit(page, "pas-mon-enfant-erreur")
        await page.get_by_text("Je ne connais pas cet enfant").click()
        await page.get_by_role("button", name="Confirmer le signalement").click()
        await page.wait_for_url(f"{base}/mon-compte/enfants/signalement-transmis")
        filed = await page.locator("[data-dispute-filed]").inner_text()
        assert name in filed and "transmis à l'établissement" in filed
        await check.visit(page, "signalement-transmis")
        await page.get_by_role("link", name="Retour à mon compte").click()
        await page.wait_for_url(f"{base}/mon-compte")
        assert await page.locator("[data-child]").count() == 3
        assert name not in await page.locator("#mes-enfants ~ div").inner_text()
        reason = await pool.fetchval(
            "SELECT details->>'reason' FROM audit_log WHERE action = 'attachment.dispute' "
            "AND actor_id = $1",
            me.account_id,
        )
        assert reason == "unknown_child"
    finally:
        await context.close()
    assert check.visited == WALK


async def test_mon_compte_works_without_javascript(stack, browser):
    """The same pages with JavaScript off: plain forms, posted, redirected, said."""
    base = stack.api_url
    me = await make_active_account(stack.pool)
    new_password = "Mesange28r"
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", java_script_enabled=False
    )
    twin = await browser.new_context(locale="fr-FR")
    check = PageCheck(prefix="sans-js-", twin=twin)
    try:
        page = await context.new_page()
        await sign_in(page, base, me.identifier, me.password)
        await page.wait_for_url(f"{base}/portail")
        await page.goto(f"{base}/mon-compte")
        await check.visit(page, "mon-compte")

        await page.get_by_role("link", name="Modifier mon mot de passe").click()
        await page.locator("#current_password").fill(me.password)
        await page.locator("#new_password").fill(new_password)
        await page.locator("#new_password_confirmation").fill(new_password)
        await page.get_by_role("button", name="Modifier mon mot de passe").click()
        await page.wait_for_url(f"{base}/mon-compte")
        assert (
            "Votre mot de passe est modifié" in await page.locator('[role="status"]').inner_text()
        )

        new_email = f"sans.js.{uuid.uuid4().hex[:8]}@example.org"
        await page.get_by_role("link", name="Modifier mon adresse électronique").click()
        await page.locator("#email").fill(new_email)
        await page.locator("#email_confirmation").fill(new_email)
        await page.get_by_role("button", name="Envoyer le lien de validation").click()
        await page.wait_for_url(f"{base}/mon-compte/adresse")
        assert new_email in await page.locator("[data-pending-change]").inner_text()
        await check.visit(page, "mon-compte-adresse-en-cours")
        await page.get_by_role("button", name="Annuler la demande").click()
        assert "est annulée" in await page.locator('[role="status"]').inner_text()

        await page.goto(f"{base}/mon-compte")
        await page.get_by_role("link", name="Je ne suis pas le représentant légal").first.click()
        await page.get_by_text("Je ne suis pas ou plus son représentant légal").click()
        await page.get_by_role("button", name="Confirmer le signalement").click()
        await page.wait_for_url(f"{base}/mon-compte/enfants/signalement-transmis")
        assert (
            "transmis à l'établissement" in await page.locator("[data-dispute-filed]").inner_text()
        )
        await check.visit(page, "signalement-transmis")
    finally:
        await context.close()
        await twin.close()
    assert check.visited == ["mon-compte", "mon-compte-adresse-en-cours", "signalement-transmis"]
