"""Activation end to end on the dev server: real worker and API processes,
real PostgreSQL, real SMTP. The credentials come from the school's
notification email, exactly as a guardian receives them."""

from __future__ import annotations

import asyncio
import re

import pytest

from educonnect.models.activation import ActivationStep
from tests.e2e.conftest import DEMO_UAIS
from tests.support.mail import Mailbox, link_in, token_of
from workflows.activation import ActivationWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORDS = ["Printemps26x", "Automne2026z"]
SECRETS_SEEN: set[str] = set()  # every secret typed or received here: none may reach Temporal


def credentials_from(notification) -> tuple[str, str]:
    identifier = re.search(r"Identifiant : (\S+)", notification.text).group(1)
    password = re.search(r"Mot de passe provisoire : (\S+)", notification.text).group(1)
    return identifier, password


async def a_notified_guardian(stack, mailbox: Mailbox, index: int):
    """The n-th demo guardian who received the school's notification email."""
    emails = await stack.pool.fetch(
        "SELECT email FROM accounts a WHERE kind = 'guardian' AND state = 'provisioned' AND email IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id "
        "WHERE gp.guardian_id = a.guardian_id AND p.uai = ANY($1::text[])) "
        "ORDER BY identifier",
        DEMO_UAIS,
    )
    for row in emails[index:]:
        notifications = [
            m for m in mailbox.to(row["email"]) if m.subject == "Vos identifiants EduConnect"
        ]
        if notifications:
            identifier, password = credentials_from(notifications[0])
            SECRETS_SEEN.add(password)
            birthdate = await stack.pool.fetchval(
                "SELECT p.birthdate FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id "
                "JOIN pupils p ON p.id = gp.pupil_id WHERE a.identifier = $1 LIMIT 1",
                identifier,
            )
            return row["email"], identifier, password, birthdate
    raise AssertionError("no notified demo guardian")


async def sign_in_and_fill_profile(http, identifier, password, birthdate, new_password, email):
    signed = await http.post("/sign-in", json={"identifier": identifier, "password": password})
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "activation_required"
    profile = await http.post(
        "/activation/profile",
        json={
            "password": new_password,
            "password_confirmation": new_password,
            "email": email,
            "child_birthdate": birthdate.isoformat(),
        },
    )
    assert profile.status_code == 200, profile.text
    assert profile.json()["step"] == "awaiting_confirmation"


def confirmations(mailbox: Mailbox, email: str):
    return [
        m
        for m in mailbox.to(email)
        if m.subject.startswith("Mise à disposition de services en ligne")
    ]


async def test_guardian_activates_with_the_schools_credentials(stack, mailbox: Mailbox):
    email, identifier, password, birthdate = await a_notified_guardian(stack, mailbox, 0)
    async with stack.http() as http:
        await sign_in_and_fill_profile(
            http, identifier, password, birthdate, NEW_PASSWORDS[0], email
        )
        SECRETS_SEEN.add(NEW_PASSWORDS[0])

        await mailbox.wait_for(email, 2)
        [confirmation] = confirmations(mailbox, email)
        token = token_of(link_in(confirmation))
        SECRETS_SEEN.add(token)
        page = await http.get(link_in(confirmation))
        assert page.status_code == 200 and "Activer mon compte" in page.text
        done = await http.post("/activation/confirmation", data={"jeton": token})
        assert done.status_code == 200 and "Compte activé" in done.text

        assert (
            await stack.pool.fetchval(
                "SELECT state FROM accounts WHERE identifier = $1", identifier
            )
            == "active"
        )
        signed = await http.post(
            "/sign-in", json={"identifier": identifier, "password": NEW_PASSWORDS[0]}
        )
        assert signed.status_code == 200 and signed.json()["status"] == "signed_in"
        old = await http.post("/sign-in", json={"identifier": identifier, "password": password})
        assert old.status_code == 401


async def test_worker_killed_while_the_guardian_waits_on_the_link(stack, mailbox: Mailbox):
    email, identifier, password, birthdate = await a_notified_guardian(stack, mailbox, 1)
    async with stack.http() as http:
        await sign_in_and_fill_profile(
            http, identifier, password, birthdate, NEW_PASSWORDS[1], email
        )
        SECRETS_SEEN.add(NEW_PASSWORDS[1])
        await mailbox.wait_for(email, 2)
        [confirmation] = confirmations(mailbox, email)
        token = token_of(link_in(confirmation))
        SECRETS_SEEN.add(token)

        stack.kill_worker()
        # The guardian clicks while no worker runs: the click is kept by Temporal.
        pending = await http.post("/activation/confirmation", data={"jeton": token})
        assert pending.status_code == 202 and "Activation en cours" in pending.text
        assert (
            await stack.pool.fetchval(
                "SELECT state FROM accounts WHERE identifier = $1", identifier
            )
            == "activating"
        )

        stack.start_worker()
        for _ in range(200):
            state = await stack.pool.fetchval(
                "SELECT state FROM accounts WHERE identifier = $1", identifier
            )
            if state == "active":
                break
            await asyncio.sleep(0.1)
        assert state == "active"
        account_id = await stack.pool.fetchval(
            "SELECT id FROM accounts WHERE identifier = $1", identifier
        )
        handle = stack.temporal.get_workflow_handle_for(
            ActivationWorkflow.run, workflow_id(account_id)
        )
        assert (await handle.result()).step == ActivationStep.ACTIVE
        assert len(confirmations(mailbox, email)) == 1, (
            "the restart sent a second confirmation email"
        )
        signed = await http.post(
            "/sign-in", json={"identifier": identifier, "password": NEW_PASSWORDS[1]}
        )
        assert signed.json()["status"] == "signed_in"


async def test_no_secret_in_any_workflow_history(stack):
    """Passwords (provisional and new), Argon2 hashes and link tokens stay in
    PostgreSQL: search every history of the run for them."""
    assert len(SECRETS_SEEN) >= 5, "the end-to-end tests above must run first"
    hashes = [
        r["h"]
        for r in await stack.pool.fetch(
            "SELECT password_hash AS h FROM accounts WHERE password_hash IS NOT NULL "
            "UNION ALL SELECT provisional_password_hash FROM accounts WHERE provisional_password_hash IS NOT NULL"
        )
    ]
    token_hashes = [
        r["token_hash"] for r in await stack.pool.fetch("SELECT token_hash FROM email_links")
    ]
    histories = 0
    async for execution in stack.temporal.list_workflows():
        history = await stack.temporal.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
        histories += 1
        assert b"$argon2" not in raw
        for secret in [*SECRETS_SEEN, *hashes]:
            assert secret.encode() not in raw, f"a secret reached the history of {execution.id}"
        for digest in token_hashes:
            assert digest not in raw and digest.hex().encode() not in raw
    assert histories >= 2


async def test_histories_replay_on_the_current_code(stack):
    """Every history the dev server holds replays deterministically with the
    workflow code of this commit (samples-python `replay/`)."""
    from temporalio.worker import Replayer

    from educonnect.temporal import data_converter
    from workflows import ALL_WORKFLOWS

    replayer = Replayer(workflows=ALL_WORKFLOWS, data_converter=data_converter())
    replayed = []

    async def histories():
        async for history in stack.temporal.list_workflows().map_histories():
            replayed.append(history.workflow_id)
            yield history

    results = await replayer.replay_workflows(histories(), raise_on_replay_failure=False)
    assert results.replay_failures == {}
    assert any(wid.startswith("activation/") for wid in replayed)
