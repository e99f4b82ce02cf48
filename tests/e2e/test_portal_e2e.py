"""Pupil activation, sign-in and the portal end to end on the dev server: real
worker and API processes, real PostgreSQL with the demo data, real SMTP.

Demo pupils receive no email: their provisional passwords are those of the
deterministic demo dataset (`educonnect.devtools.demo_data.generate`), as printed by
`python -m educonnect.devtools.demo_data`. Guardians' credentials come from the
school's notification email."""

from __future__ import annotations

import pytest

from educonnect.devtools import demo_data
from tests.e2e.conftest import E2E_DEMO_PUPILS
from tests.e2e.test_activation_e2e import (
    a_notified_guardian,
    confirmations,
    sign_in_and_fill_profile,
)
from tests.support.mail import Mailbox, link_in, token_of
from workflows.pupil_activation import workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRETS: set[str] = set()


async def demo_pupils(stack) -> list[tuple[str, str, demo_data.Pupil]]:
    """(identifier, provisional password, pupil) of the demo pupil accounts still provisioned."""
    data = demo_data.generate(None, E2E_DEMO_PUPILS)
    found = []
    for account in data.pupil_accounts:
        row = await stack.pool.fetchrow(
            "SELECT identifier, state FROM accounts WHERE pupil_id = $1", account.owner_id
        )
        if row and row["state"] == "provisioned":
            found.append(
                (row["identifier"], account.provisional_password, data.pupil(account.owner_id))
            )
    assert len(found) >= 2, "the demo data must provision pupil accounts"
    return found


async def portal_of(http, identifier: str, password: str) -> dict:
    signed = await http.post("/sign-in", json={"identifier": identifier, "password": password})
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "signed_in"
    portal = await http.get("/portal")
    assert portal.status_code == 200, portal.text
    return portal.json()


async def test_demo_pupils_activate_with_and_without_an_email(stack, mailbox: Mailbox):
    (with_id, with_password, with_pupil), (without_id, without_password, _) = (
        await demo_pupils(stack)
    )[:2]
    SECRETS.update({with_password, without_password, "Lycee2027ab", "College2027b"})

    # With an address: confirmed by the link, on the page shared with guardians.
    address = f"{with_id.replace('.', '-')}@eleves.example.fr"
    async with stack.http() as http:
        signed = await http.post(
            "/sign-in", json={"identifier": with_id, "password": with_password}
        )
        assert signed.status_code == 200 and signed.json()["next"] == "/pupil-activation", (
            signed.text
        )
        submitted = await http.post(
            "/pupil-activation/profile",
            json={
                "password": "Lycee2027ab",
                "password_confirmation": "Lycee2027ab",
                "birthdate": with_pupil.birthdate.isoformat(),
                "email": address,
            },
        )
        assert (
            submitted.status_code == 200 and submitted.json()["step"] == "awaiting_confirmation"
        ), submitted.text
        [confirmation] = await mailbox.wait_for(address, 1)
        token = token_of(link_in(confirmation))
        SECRETS.add(token)
        assert "Activer mon compte" in (await http.get(link_in(confirmation))).text
        done = await http.post("/activation/confirmation", data={"jeton": token})
        assert done.status_code == 200 and "Compte activé" in done.text, done.text

        view = await portal_of(http, with_id, "Lycee2027ab")
        assert (
            view["kind"] == "pupil"
            and view["email"] == address
            and view["email_validation_required"] is False
        )
        [me] = view["children"]
        assert me["pupil_id"] == str(with_pupil.id) and [s["code"] for s in me["services"]] == [
            "ent"
        ]
        assert (await http.post("/sign-out")).status_code == 200
        assert (await http.get("/portal")).status_code == 401

    # Without an address: active at once, with the warning about recovery.
    async with stack.http() as http:
        signed = await http.post(
            "/sign-in", json={"identifier": without_id, "password": without_password}
        )
        birthdate = await stack.pool.fetchval(
            "SELECT p.birthdate FROM accounts a JOIN pupils p ON p.id = a.pupil_id WHERE a.identifier = $1",
            without_id,
        )
        done = await http.post(
            "/pupil-activation/profile",
            json={
                "password": "College2027b",
                "password_confirmation": "College2027b",
                "birthdate": birthdate.isoformat(),
            },
        )
        assert done.status_code == 200 and done.json()["step"] == "active", done.text
        assert "récupérer seul" in done.json()["recovery_notice"]
        view = await portal_of(http, without_id, "College2027b")
        assert view["email"] is None and [s["code"] for s in view["children"][0]["services"]] == [
            "ent"
        ]

    states = await stack.pool.fetch(
        "SELECT identifier, state, email_verified_at IS NOT NULL AS verified FROM accounts WHERE identifier = ANY($1)",
        [with_id, without_id],
    )
    assert {(r["identifier"], r["state"], r["verified"]) for r in states} == {
        (with_id, "active", True),
        (without_id, "active", False),
    }


async def test_an_activated_guardian_sees_each_childs_services(stack, mailbox: Mailbox):
    email, identifier, password, birthdate = await a_notified_guardian(stack, mailbox, 0)
    SECRETS.update({password, "Portail2027x"})
    async with stack.http() as http:
        await sign_in_and_fill_profile(http, identifier, password, birthdate, "Portail2027x", email)
        await mailbox.wait_for(email, 2)
        [confirmation] = confirmations(mailbox, email)
        SECRETS.add(token_of(link_in(confirmation)))
        done = await http.post(
            "/activation/confirmation", data={"jeton": token_of(link_in(confirmation))}
        )
        assert done.status_code == 200 and "Compte activé" in done.text

        view = await portal_of(http, identifier, "Portail2027x")
    children = await stack.pool.fetch(
        """
        SELECT p.id, s.kind, p.level FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id
        JOIN pupils p ON p.id = gp.pupil_id JOIN schools s ON s.uai = p.uai WHERE a.identifier = $1
        """,
        identifier,
    )
    assert (
        view["kind"] == "guardian"
        and view["email"] == email
        and view["email_validation_required"] is False
    )
    assert {c["pupil_id"] for c in view["children"]} == {str(r["id"]) for r in children}
    kinds = {str(r["id"]): r["kind"] for r in children}
    for child in view["children"]:
        codes = [s["code"] for s in child["services"]]
        assert codes[0] == "ent"
        kind = kinds[child["pupil_id"]]
        assert ("lsu" in codes) == (kind in ("ecole", "college"))
        assert ("bourses" in codes) == (kind in ("college", "lycee"))
    assert any(kinds[c["pupil_id"]] == "college" for c in view["children"]), (
        "demo guardians have a collège child"
    )


async def test_no_secret_in_the_pupil_activation_histories(stack):
    assert len(SECRETS) >= 5, "the tests above must run first"
    rows = await stack.pool.fetch(
        "SELECT id FROM accounts WHERE kind = 'pupil' AND state = 'active'"
    )
    seen = 0
    for row in rows:
        history = await stack.temporal.get_workflow_handle(workflow_id(row["id"])).fetch_history()
        raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
        assert b"$argon2" not in raw
        for secret in SECRETS:
            assert secret.encode() not in raw, (
                f"a secret reached the history of {workflow_id(row['id'])}"
            )
        seen += 1
    assert seen >= 2
