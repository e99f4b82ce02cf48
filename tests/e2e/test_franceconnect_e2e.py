"""FranceConnect end to end on the dev server: real worker and API processes,
real PostgreSQL with the demo data, the loopback provider in FranceConnect
v2's shape (its scope names only, the identity in a signed userinfo JWT, a
session that its end_session_endpoint ends) and the real HTTP SMS gateway on
loopback. One browser (one cookie jar) goes between EduConnect and the
provider, as a person's would.

A demo guardian without an account signs in with FranceConnect for the first
time, types a wrong mobile, corrects it with "Modifier le numéro", reads the
code the gateway received, confirms a child's birthdate: the account is
created and linked. Signing out ends the FranceConnect session too (the
provider asks to sign in again); the second visit signs in directly. Nothing
of the exchange (state, nonce, ID token, code, cookies) reaches a workflow
history."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from educonnect.devtools.oidc_provider import ProviderIdentity
from educonnect.models.franceconnect import LinkStep
from tests.support.sms import SmsOutbox, code_in
from workflows.franceconnect_link import FranceConnectLinkWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def a_demo_guardian_without_account(stack):
    """Taken from the end of the alphabet: other end-to-end tests take the first ones."""
    row = await stack.pool.fetchrow(
        """
        SELECT g.id, g.first_name, g.last_name, g.mobile FROM guardians g
        WHERE g.mobile IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.guardian_id = g.id)
          AND EXISTS (SELECT 1 FROM guardian_pupils gp WHERE gp.guardian_id = g.id)
        ORDER BY g.last_name DESC, g.first_name DESC LIMIT 1
        """
    )
    assert row is not None, "the demo data must have guardians without an account"
    children = await stack.pool.fetch(
        "SELECT p.first_name, p.birthdate FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id "
        "WHERE gp.guardian_id = $1",
        row["id"],
    )
    return row, children


def typed(mobile: str) -> str:
    """+33612345678 -> 0612345678, as a person types it."""
    return "0" + mobile[3:]


async def through_franceconnect(
    browser: httpx.AsyncClient, api_url: str, sub: str, *, expect_login_page: bool = True
) -> tuple[httpx.Response, dict]:
    """The browser's journey: EduConnect → FranceConnect (its sign-in page) → EduConnect."""
    started = await browser.get(f"{api_url}/franceconnect/login")
    assert started.status_code == 302, started.text
    authorize_url = started.headers["location"]
    page = await browser.get(authorize_url)
    if expect_login_page:
        assert page.status_code == 200 and "<form" in page.text, "FranceConnect asks to sign in"
        answer = await browser.post(authorize_url, data={"sub": sub})
    else:
        answer = page  # single sign-on: straight back
    assert answer.status_code == 302, answer.text[:300]
    callback = answer.headers["location"]
    assert callback.startswith(f"{api_url}/franceconnect/callback?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    assert query["scope"] == "openid given_name family_name"
    return await browser.get(callback), query


async def test_first_visit_with_a_mistyped_mobile_sign_out_then_direct_sign_in(
    stack, oidc_provider, sms_gateway
):
    guardian, children = await a_demo_guardian_without_account(stack)
    identity = ProviderIdentity(
        sub=f"fc-e2e-{guardian['id'].hex[:10]}",
        given_name=guardian["first_name"],
        family_name=guardian["last_name"].upper(),
    )
    oidc_provider.set_identity(identity)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    mistyped = guardian["mobile"][:-2] + ("00" if guardian["mobile"][-2:] != "00" else "11")
    secrets_seen: set[str] = set()
    api = stack.api_url

    async with httpx.AsyncClient(timeout=30) as browser:
        first, query = await through_franceconnect(browser, api, identity.sub)
        secrets_seen |= {query["state"], query["nonce"], browser.cookies["educonnect_fc_link"]}
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["status"] == "link_required" and body["link"]["step"] == "awaiting_mobile"
        link = f"{api}/franceconnect/link/{body['link']['link_id']}"

        wrong = await browser.post(f"{link}/mobile", json={"mobile": typed(mistyped)})
        assert wrong.status_code == 200, wrong.text
        assert wrong.json()["step"] == "awaiting_code"
        changed = await browser.post(
            f"{link}/change-mobile", json={"mobile": typed(guardian["mobile"])}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["step"] == "awaiting_code"
        [sms] = await outbox.wait_for(guardian["mobile"], 1)
        assert outbox.to(mistyped) == []
        code = code_in(sms)
        secrets_seen.add(code)
        coded = await browser.post(f"{link}/code", json={"code": code})
        assert coded.status_code == 200, coded.text
        assert coded.json()["step"] == "awaiting_birthdate"

        linked = await browser.post(
            f"{link}/birthdate", json={"child_birthdate": children[0]["birthdate"].isoformat()}
        )
        assert linked.status_code == 200, linked.text
        identifier = linked.json()["identifier"]
        secrets_seen.add(browser.cookies["educonnect_session"])
        account = await stack.pool.fetchrow(
            "SELECT * FROM accounts WHERE identifier = $1", identifier
        )
        assert account["guardian_id"] == guardian["id"] and account["state"] == "active"
        assert account["mobile_verified_at"] is not None
        portal = await browser.get(f"{api}/portal")
        assert portal.status_code == 200, portal.text
        assert children[0]["first_name"] in portal.text

        # Sign-out: EduConnect, then FranceConnect (end_session), then back here.
        out = await browser.post(f"{api}/sign-out")
        assert out.status_code == 200, out.text
        end_session = out.json()["next"]
        assert end_session.startswith(oidc_provider.issuer + "/session/end?")
        secrets_seen.add(parse_qs(urlsplit(end_session).query)["id_token_hint"][0])
        assert oidc_provider.live_sessions(identity.sub) == 1
        at_provider = await browser.get(end_session)
        assert at_provider.status_code == 303
        assert at_provider.headers["location"].startswith(f"{api}/franceconnect/logout/callback?")
        done = await browser.get(at_provider.headers["location"])
        assert done.status_code == 200 and "Vous êtes déconnecté" in done.text
        assert oidc_provider.live_sessions(identity.sub) == 0
        assert (await browser.get(f"{api}/portal")).status_code == 401

        # Second visit, same browser: FranceConnect asks to sign in again (its
        # session ended), then EduConnect lets the person straight in.
        second, query = await through_franceconnect(browser, api, identity.sub)
        assert second.status_code == 200, second.text
        assert second.json()["status"] == "signed_in" and second.json()["identifier"] == identifier
        secrets_seen |= {query["state"], query["nonce"], browser.cookies["educonnect_session"]}
        assert (await browser.get(f"{api}/portal")).status_code == 200

    handle = stack.temporal.get_workflow_handle_for(
        FranceConnectLinkWorkflow.run, workflow_id(body["link"]["link_id"])
    )
    assert (await handle.result()).step == LinkStep.LINKED
    assert (
        await stack.pool.fetchval(
            "SELECT count(*) FROM franceconnect_links l JOIN franceconnect_identities i ON i.id = l.identity_id "
            "WHERE i.sub = $1",
            identity.sub,
        )
        == 1
    ), "the second visit started no first-visit process"

    history = await handle.fetch_history()
    raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
    for secret in secrets_seen:
        assert secret.encode() not in raw, (
            "a secret of the FranceConnect exchange reached the history"
        )
