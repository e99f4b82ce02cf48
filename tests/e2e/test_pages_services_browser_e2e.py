"""Signing into a school service with EduConnect (DESIGN §10), walked in
Chromium on the dev stack (real worker and API processes, PostgreSQL with the
demo data) with the « ENT de démonstration » of the dev stack as the service
(`educonnect.devtools.demo_service`, on loopback, registered as a client):

- a guardian signs in on the portal, opens the ENT tile and lands signed in
  at the service, their children listed; « Mon compte » says which data the
  service received; "Se déconnecter" on EduConnect ends the service's session
  too (back-channel logout, verified by the service);
- a guardian whose account is not active yet follows the service's sign-in
  link: the sign-in page, the activation (profile, the email's link), signing
  in with the new password, and back to the service, signed in.

Every page of ours passes axe-core and is photographed at 360 and 1280 px."""

from __future__ import annotations

import pytest
import pytest_asyncio

from educonnect.devtools.demo_service import DemoService
from educonnect.passwords import hash_password_async
from educonnect.service_clients import Registration, register
from tests.e2e.conftest import DEMO_UAIS
from tests.e2e.test_pages_browser_e2e import a_notified_guardian, fill_profile, sign_in
from tests.support.browser import PageCheck, browser  # noqa: F401 (fixture)
from tests.support.mail import Mailbox, link_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "Ecole2026ent"
CONFIRMATION_SUBJECT = "Mise à disposition de services en ligne"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ent(stack):
    """The demonstration ENT, registered with the stack's EduConnect."""
    service = DemoService(f"{stack.api_url}/oidc")
    await service.start()
    await register(stack.pool, Registration.model_validate(service.registration()))
    yield service
    await service.stop()


async def an_active_demo_guardian(stack) -> tuple[str, list[str]]:
    """A demo guardian with children, made active with PASSWORD (as after activation)."""
    row = await stack.pool.fetchrow(
        "SELECT a.id, a.identifier FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id "
        "JOIN pupils p ON p.id = gp.pupil_id "
        "WHERE a.kind = 'guardian' AND a.state = 'provisioned' AND p.uai = ANY($1::text[]) "
        "GROUP BY a.id, a.identifier HAVING count(*) >= 2 ORDER BY a.identifier LIMIT 1",
        DEMO_UAIS,
    )
    await stack.pool.execute(
        "UPDATE accounts SET state = 'active', password_hash = $2, provisional_password_hash = NULL, "
        "activated_at = now(), email_verified_at = now() WHERE id = $1",
        row["id"],
        await hash_password_async(PASSWORD),
    )
    children = await stack.pool.fetch(
        "SELECT p.first_name FROM pupils p JOIN guardian_pupils gp ON gp.pupil_id = p.id "
        "JOIN accounts a ON a.guardian_id = gp.guardian_id WHERE a.id = $1",
        row["id"],
    )
    return row["identifier"], [c["first_name"] for c in children]


async def test_portal_tile_signs_in_at_the_ent_and_signing_out_ends_it(stack, ent, browser):
    identifier, children = await an_active_demo_guardian(stack)
    base = stack.api_url
    check = PageCheck(prefix="services-")
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    try:
        page = await context.new_page()
        await sign_in(page, base, identifier, PASSWORD)
        await page.wait_for_url(f"{base}/portail")
        tile = page.locator("[data-service='ent'] a[data-service-link]").first
        assert await tile.get_attribute("href") == f"{ent.url}/connexion"
        await check.visit(page, "portail")

        await tile.click()  # no typing: the EduConnect session signs in at the service
        await page.wait_for_url(f"{ent.url}/")
        await page.locator("[data-signed-in]").wait_for()
        listed = await page.locator("[data-child]").all_inner_texts()
        assert len(listed) == len(children)
        assert all(any(name in line for line in listed) for name in children)
        await page.screenshot(path=str(check_dir() / "services-ent-demo-1280.png"), full_page=True)
        [sub] = ent.signed_in_subjects()

        await page.goto(f"{base}/mon-compte")
        use = page.locator("[data-service-use='ent-demo']")
        assert "ENT de démonstration" in await use.inner_text()
        assert "pour chaque enfant" in await use.inner_text()
        await check.visit(page, "mon-compte")

        # A redirect URI that is not exactly the registered one: a page, never a redirect.
        foreign = await page.goto(
            f"{base}/oidc/authorize?client_id=ent-demo&response_type=code&scope=openid"
            f"&redirect_uri={ent.url}/callback/ailleurs&code_challenge={'a' * 43}"
            "&code_challenge_method=S256"
        )
        assert foreign is not None and foreign.status == 400
        assert page.url.startswith(f"{base}/oidc/authorize")
        refusal = page.locator("[data-code]")
        assert await refusal.get_attribute("data-code") == "service_redirect_uri_invalid"
        await check.visit(page, "adresse-de-retour-refusee")

        await page.goto(f"{base}/portail")
        await page.get_by_role("button", name="Se déconnecter").click()
        await page.wait_for_url(f"{base}/")
        assert ent.signed_in_subjects() == []  # the ENT was told, and believed it
        assert ent.logouts[-1]["sub"] == sub
        await page.goto(f"{ent.url}/")
        await page.locator("[data-signed-out]").wait_for()
    finally:
        await context.close()


async def test_a_guardian_not_yet_active_activates_then_comes_back_to_the_ent(
    stack, ent, mailbox: Mailbox, browser
):
    email, identifier, provisional, birthdate = await a_notified_guardian(stack, mailbox)
    base = stack.api_url
    check = PageCheck(prefix="services-")
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    try:
        page = await context.new_page()
        await page.goto(f"{ent.url}/")
        await page.get_by_role("link", name="Se connecter avec EduConnect").click()
        await page.wait_for_url(f"{base}/")
        assert "Connectez-vous pour accéder au service « ENT de démonstration »" in (
            await page.content()
        )
        await check.visit(page, "accueil-vers-le-service")

        await sign_in(page, base, identifier, provisional)
        await page.wait_for_url(f"{base}/activation/gerer-mon-compte")
        await fill_profile(page, "Rentree2026x", email, birthdate.strftime("%d/%m/%Y"))
        await page.wait_for_url(f"{base}/activation/activer-mon-compte")
        messages = await mailbox.wait_for(email, 2)
        [confirmation] = [m for m in messages if m.subject.startswith(CONFIRMATION_SUBJECT)]
        await page.goto(link_in(confirmation))
        await page.get_by_role("button", name="Activer mon compte").click()
        await page.get_by_role("heading", name="Compte activé").wait_for()

        await sign_in(page, base, identifier, "Rentree2026x")
        await page.wait_for_url(f"{ent.url}/")  # back to the service, signed in
        await page.locator("[data-signed-in]").wait_for()
        assert await page.locator("[data-child]").count() >= 1
    finally:
        await context.close()


def check_dir():
    from tests.support.browser import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
