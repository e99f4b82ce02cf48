"""FranceConnect end to end on the dev server: real worker and API processes,
real PostgreSQL with the demo data, oidc-provider-mock as FranceConnect and
the real HTTP SMS gateway on loopback.

A demo guardian without an account signs in with FranceConnect for the first
time (mobile on file, the SMS code read from the gateway's outbox, a child's
birthdate): the account is created and linked. The second visit signs in
directly. Nothing of the exchange (state, nonce, code, cookies) reaches a
workflow history."""

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


async def through_franceconnect(http: httpx.AsyncClient, sub: str) -> tuple[httpx.Response, dict]:
    """The browser's journey: EduConnect → provider's page → EduConnect."""
    started = await http.get("/franceconnect/login")
    assert started.status_code == 302, started.text
    authorize_url = started.headers["location"]
    async with httpx.AsyncClient(timeout=30) as at_provider:
        page = await at_provider.get(authorize_url)
        assert page.status_code == 200 and "<form" in page.text  # the provider's sign-in page
        answer = await at_provider.post(authorize_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text[:300]
    callback = answer.headers["location"]
    assert callback.startswith(str(http.base_url).rstrip("/") + "/franceconnect/callback?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    return await http.get(callback), query


async def test_first_visit_then_direct_sign_in(stack, oidc_provider, sms_gateway):
    guardian, children = await a_demo_guardian_without_account(stack)
    identity = ProviderIdentity(
        sub=f"fc-e2e-{guardian['id'].hex[:10]}",
        given_name=guardian["first_name"],
        family_name=guardian["last_name"].upper(),
    )
    oidc_provider.set_identity(identity)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    secrets_seen: set[str] = set()

    async with stack.http() as http:
        first, query = await through_franceconnect(http, identity.sub)
        secrets_seen |= {query["state"], query["nonce"], http.cookies["educonnect_fc_link"]}
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["status"] == "link_required" and body["link"]["step"] == "awaiting_mobile"
        link_id = body["link"]["link_id"]

        local = "0" + guardian["mobile"][3:]  # as typed: 06...
        entered = await http.post(f"/franceconnect/link/{link_id}/mobile", json={"mobile": local})
        assert entered.status_code == 200, entered.text
        assert entered.json()["step"] == "awaiting_code"
        [sms] = await outbox.wait_for(guardian["mobile"], 1)
        code = code_in(sms)
        secrets_seen.add(code)
        coded = await http.post(f"/franceconnect/link/{link_id}/code", json={"code": code})
        assert coded.status_code == 200, coded.text
        assert coded.json()["step"] == "awaiting_birthdate"

        linked = await http.post(
            f"/franceconnect/link/{link_id}/birthdate",
            json={"child_birthdate": children[0]["birthdate"].isoformat()},
        )
        assert linked.status_code == 200, linked.text
        identifier = linked.json()["identifier"]
        secrets_seen.add(http.cookies["educonnect_session"])
        account = await stack.pool.fetchrow(
            "SELECT * FROM accounts WHERE identifier = $1", identifier
        )
        assert account["guardian_id"] == guardian["id"] and account["state"] == "active"
        assert account["mobile_verified_at"] is not None
        portal = await http.get("/portal")
        assert portal.status_code == 200, portal.text
        assert children[0]["first_name"] in portal.text

    handle = stack.temporal.get_workflow_handle_for(
        FranceConnectLinkWorkflow.run, workflow_id(link_id)
    )
    assert (await handle.result()).step == LinkStep.LINKED

    # Second visit, another day, another browser: straight in.
    async with stack.http() as http:
        second, query = await through_franceconnect(http, identity.sub)
        assert second.status_code == 200, second.text
        assert second.json()["status"] == "signed_in" and second.json()["identifier"] == identifier
        secrets_seen |= {query["state"], query["nonce"], http.cookies["educonnect_session"]}
        assert (await http.get("/portal")).status_code == 200
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
