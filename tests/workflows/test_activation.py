"""Activation with school-issued credentials, on the time-skipping server,
with the real activities (PostgreSQL, SMTP) and the real API in process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from educonnect import pending_passwords
from educonnect.errors import ErrorCode
from educonnect.models.activation import (
    ActivationStep,
    BirthdateUnblocked,
    EmailCorrection,
    ProfileSubmission,
    ResendRequest,
)
from educonnect.search_attributes import PROCESS_STEP
from tests.support.corrections import approved_correction, eventually
from tests.support.families import Family, make_family
from tests.support.histories import record_history, timeline_summaries
from tests.support.mail import Mailbox, link_in, token_of
from tests.support.smtp_gate import HoldAfter
from workflows.activation import ActivationWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Soleil2027b"


async def sign_in(api: httpx.AsyncClient, identifier: str, password: str) -> httpx.Response:
    api.cookies.clear()
    return await api.post("/sign-in", json={"identifier": identifier, "password": password})


async def start_and_submit(
    api: httpx.AsyncClient, family: Family, *, email: str | None = None
) -> httpx.Response:
    signed = await sign_in(api, family.identifier, family.provisional_password)
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "activation_required"
    return await api.post(
        "/activation/profile",
        json={
            "password": NEW_PASSWORD,
            "password_confirmation": NEW_PASSWORD,
            "email": email or family.email,
            "child_birthdate": family.child_birthdates[1].isoformat(),
        },
    )


async def click(api: httpx.AsyncClient, link: str) -> httpx.Response:
    token = token_of(link)
    page = await api.get("/activation/confirmation", params={"jeton": token})
    if page.status_code != 200 or "Activer mon compte" not in page.text:
        return page
    return await api.post("/activation/confirmation", data={"jeton": token})


async def account_state(db_pool, family: Family) -> str:
    return await db_pool.fetchval("SELECT state FROM accounts WHERE id = $1", family.account_id)


async def test_reminder_after_three_days_and_not_before(
    api, db_pool, mailbox: Mailbox, time_skipping_env
):
    family = await make_family(db_pool)
    submitted = await start_and_submit(api, family)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["step"] == "awaiting_confirmation"
    [confirmation] = await mailbox.wait_for(family.email, 1)
    assert (
        confirmation.subject
        == "Mise à disposition de services en ligne pour suivre la scolarité de votre enfant"
    )
    assert "Administrateur des services en ligne" in confirmation.sender

    await time_skipping_env.sleep(timedelta(days=2, hours=23))
    assert len(await mailbox.wait_for(family.email, 2, timeout=1)) == 1, (
        "reminder sent before 3 days"
    )

    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
    messages = await mailbox.wait_for(family.email, 2)
    assert len(messages) == 2
    assert messages[1].subject.startswith("Rappel")
    # The reminder's link is the live one; the first link died with it.
    assert (await click(api, link_in(confirmation))).status_code == 410
    activated = await click(api, link_in(messages[1]))
    assert activated.status_code == 200 and "Compte activé" in activated.text
    assert await account_state(db_pool, family) == "active"

    # The Web UI's timeline reads as the process: French summaries, encrypted.
    handle = time_skipping_env.client.get_workflow_handle(workflow_id(family.account_id))
    await handle.result()
    activities, timers = await timeline_summaries(time_skipping_env.client, handle)
    assert activities[:3] == [
        "Vérification de la date de naissance",
        "Début de l'activation : nouveau mot de passe enregistré",
        "Envoi du lien de confirmation",
    ]
    assert "Envoi du rappel avec un nouveau lien" in activities
    assert activities[-1] == "Activation du compte"
    assert timers[-2:] == ["Rappel à J+3", "Expiration à J+7"]
    await record_history(handle, "activation-short-steps-as-local-activities")


async def test_accepted_profile_is_answered_with_the_status_of_the_link_step(
    api, db_pool, mailbox: Mailbox, time_skipping_env
):
    """The API needs no status query after "Gérer mon compte" (issue 14)."""
    family = await make_family(db_pool)
    assert (await sign_in(api, family.identifier, family.provisional_password)).status_code == 200
    handle = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, workflow_id(family.account_id)
    )
    await pending_passwords.keep(db_pool, family.account_id, handle.id, NEW_PASSWORD)  # as the API
    outcome = await handle.execute_update(
        ActivationWorkflow.submit_profile,
        ProfileSubmission(email=family.email, child_birthdate=family.child_birthdates[0]),
    )
    assert outcome.accepted and outcome.status is not None
    assert outcome.status.step == ActivationStep.AWAITING_CONFIRMATION
    assert outcome.status.email == family.email and outcome.status.identifier == family.identifier
    assert outcome.status.expires_at is not None and outcome.status.reminder_due_at is not None
    assert outcome.status == (await handle.query(ActivationWorkflow.status)).model_copy(
        update={"links_sent": 0, "last_link_sent_at": None}
    )

    [confirmation] = await mailbox.wait_for(family.email, 1)
    done = await click(api, link_in(confirmation))
    assert done.status_code == 200 and "Compte activé" in done.text
    await handle.result()
    await record_history(handle, "activation-profile-answered-with-status")


async def test_link_expires_after_seven_days(api, db_pool, mailbox: Mailbox, time_skipping_env):
    family = await make_family(db_pool)
    assert (await start_and_submit(api, family)).status_code == 200
    await mailbox.wait_for(family.email, 1)
    handle = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, workflow_id(family.account_id)
    )

    await time_skipping_env.sleep(timedelta(days=6, hours=23))
    assert (
        await handle.query(ActivationWorkflow.status)
    ).step == ActivationStep.AWAITING_CONFIRMATION

    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
    result = await handle.result()
    assert result.step == ActivationStep.EXPIRED
    assert (await handle.describe()).typed_search_attributes.get(PROCESS_STEP) == "expired"
    _, reminder = mailbox.to(family.email)  # the reminder's link was the live one
    expired = await click(api, link_in(reminder))
    assert expired.status_code == 410 and "expiré" in expired.text
    assert await account_state(db_pool, family) == "provisioned"

    # A later sign-in with the school's credentials starts over.
    again = await sign_in(api, family.identifier, family.provisional_password)
    assert again.json()["activation"]["step"] == "profile"


async def test_resend_kills_the_old_link(api, db_pool, mailbox: Mailbox, time_skipping_env):
    family = await make_family(db_pool)
    assert (await start_and_submit(api, family)).status_code == 200
    [first] = await mailbox.wait_for(family.email, 1)

    too_soon = await api.post("/activation/resend-link")
    assert too_soon.status_code == 429 and too_soon.json()["code"] == "resend_too_soon"

    await time_skipping_env.sleep(timedelta(seconds=61))
    resent = await api.post("/activation/resend-link")
    assert resent.status_code == 200, resent.text
    first_again, second = await mailbox.wait_for(family.email, 2)
    assert first_again.id == first.id

    old = await click(api, link_in(first))
    assert old.status_code == 410 and "remplacé" in old.text
    assert await account_state(db_pool, family) == "activating"
    assert (await click(api, link_in(second))).status_code == 200
    assert await account_state(db_pool, family) == "active"


async def test_corrected_address_gets_the_new_link(api, db_pool, mailbox: Mailbox):
    family = await make_family(db_pool)
    typo = family.email.replace("@", "@gmial-")
    assert (await start_and_submit(api, family, email=typo)).status_code == 200
    [to_typo] = await mailbox.wait_for(typo, 1)

    corrected = await api.post("/activation/email", json={"email": family.email})
    assert corrected.status_code == 200 and corrected.json()["email"] == family.email
    [to_right] = await mailbox.wait_for(family.email, 1)

    assert (await click(api, link_in(to_typo))).status_code == 410
    assert (await click(api, link_in(to_right))).status_code == 200
    row = await db_pool.fetchrow(
        "SELECT state, email, email_verified_at FROM accounts WHERE id = $1", family.account_id
    )
    assert (
        row["state"] == "active"
        and row["email"] == family.email
        and row["email_verified_at"] is not None
    )


async def test_three_wrong_birthdates_block_the_step(api, db_pool, time_skipping_env):
    family = await make_family(db_pool)
    assert (await sign_in(api, family.identifier, family.provisional_password)).status_code == 200
    profile = {
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
        "email": family.email,
        "child_birthdate": "2014-01-01",
    }
    first = await api.post("/activation/profile", json=profile)
    assert first.status_code == 422 and first.json()["code"] == "birthdate_incorrect"
    assert "2 essai" in first.json()["message"]
    assert (await api.post("/activation/profile", json=profile)).json()["details"][0][
        "attempts_left"
    ] == 1
    third = await api.post("/activation/profile", json=profile)
    assert third.status_code == 423 and third.json()["code"] == "birthdate_blocked"
    assert "formulaire d'assistance" in third.json()["message"]
    assert third.json()["details"][0]["assistance_url"]

    # Blocked: even the right date is refused now.
    right = dict(profile, child_birthdate=family.child_birthdates[0].isoformat())
    # (The account is still 'provisioned': the update's validator refuses, issue 14.)
    again = await api.post("/activation/profile", json=right)
    assert again.status_code == 423 and again.json()["code"] == "birthdate_blocked"
    assert again.json()["details"][0]["assistance_url"] == "/assistance/date-de-naissance"
    handle = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, workflow_id(family.account_id)
    )
    assert (await handle.describe()).typed_search_attributes.get(
        PROCESS_STEP
    ) == "birthdate_blocked"

    # The seam for the correction process: once unblocked (an approved correction
    # this process joined, read back), the step starts afresh.
    correction_id = await approved_correction(db_pool, handle.id)
    await handle.signal(
        ActivationWorkflow.birthdate_unblocked, BirthdateUnblocked(correction_id=correction_id)
    )

    async def resumed() -> bool:
        return (await api.get("/activation")).json()["step"] == "profile"

    await eventually(resumed, "activation unblocked")
    status = (await api.get("/activation")).json()
    assert status["step"] == "profile" and status["attempts_left"] == 3
    assert (await api.post("/activation/profile", json=right)).status_code == 200


async def test_second_click_is_harmless_and_new_password_works(api, db_pool, mailbox: Mailbox):
    family = await make_family(db_pool)
    assert (await start_and_submit(api, family)).status_code == 200
    [confirmation] = await mailbox.wait_for(family.email, 1)
    assert (await click(api, link_in(confirmation))).status_code == 200
    twice = await click(api, link_in(confirmation))
    assert twice.status_code == 200 and "déjà été utilisé" in twice.text

    assert (await sign_in(api, family.identifier, NEW_PASSWORD)).json()["status"] == "signed_in"
    old = await sign_in(api, family.identifier, family.provisional_password)
    assert old.status_code == 401 and old.json()["code"] == "invalid_credentials"


async def test_links_per_activation_are_capped(api, db_pool, mailbox: Mailbox):
    family = await make_family(db_pool)
    assert (await start_and_submit(api, family)).status_code == 200
    for n in range(2, 11):  # the first link, then nine corrections
        corrected = await api.post("/activation/email", json={"email": f"n{n}.{family.email}"})
        assert corrected.status_code == 200, corrected.text
    refused = await api.post("/activation/email", json={"email": f"n11.{family.email}"})
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_links"
    assert mailbox.to(f"n11.{family.email}") == []
    status = (await api.get("/activation")).json()
    assert status["links_sent"] == 10 and status["email"] == f"n10.{family.email}"


async def test_link_requests_while_a_link_is_on_its_way_keep_the_cooldown_and_the_cap(
    api, db_pool, mailbox: Mailbox, smtp_sink, time_skipping_env
):
    """A slow mail server and a burst of requests (double clicks, a script):
    the requests are refused by the validators, not queued behind the link on
    its way to send later beyond the cooldown and the cap (and fill the history)."""
    family = await make_family(db_pool)
    assert (await start_and_submit(api, family)).status_code == 200
    await mailbox.wait_for(family.email, 1)
    address = lambda n: family.email.replace("@", f".n{n}@")  # noqa: E731
    for n in range(2, 9):  # seven corrections: 8 links out
        corrected = await api.post("/activation/email", json={"email": address(n)})
        assert corrected.status_code == 200, corrected.text
    await time_skipping_env.sleep(timedelta(seconds=61))
    handle = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, workflow_id(family.account_id)
    )
    accepted = dict(wait_for_stage=WorkflowUpdateStage.ACCEPTED)

    with HoldAfter(smtp_sink, family.email.split("@")[1], 0) as gate:
        await handle.start_update(
            ActivationWorkflow.resend_link, ResendRequest(), **accepted
        )  # the 9th link
        assert await gate.wait_holding(10), "the 9th link never reached the mail server"
        refused = lambda update, arg: asyncio.wait_for(handle.execute_update(update, arg), 5)  # noqa: E731
        with pytest.raises(
            WorkflowUpdateFailedError
        ) as again:  # (queued, it would not answer in time)
            await refused(ActivationWorkflow.resend_link, ResendRequest())
        assert again.value.cause.type == ErrorCode.RESEND_TOO_SOON
        # A corrected address still gets its link, the one on its way counted in the cap.
        tenth = await handle.start_update(
            ActivationWorkflow.correct_email, EmailCorrection(email=address(10)), **accepted
        )
        with pytest.raises(WorkflowUpdateFailedError) as beyond:
            await refused(ActivationWorkflow.correct_email, EmailCorrection(email=address(11)))
        assert beyond.value.cause.type == ErrorCode.TOO_MANY_LINKS
    # The mail server answers again: the two links accepted go out, nothing else.
    assert (await tenth.result()).email == address(10)
    status = (await api.get("/activation")).json()
    assert status["links_sent"] == 10 and status["email"] == address(10)
    assert (
        len(await mailbox.wait_for(address(8), 3, timeout=3)) == 2
    )  # the correction's link and the 9th
    assert len(await mailbox.wait_for(address(10), 1)) == 1
    assert mailbox.to(address(11)) == []


async def test_activation_ends_when_the_schools_credentials_expire(api, db_pool, time_skipping_env):
    family = await make_family(db_pool)
    await db_pool.execute(
        "UPDATE accounts SET provisional_expires_at = now() + interval '2 days' WHERE id = $1",
        family.account_id,
    )
    assert (await sign_in(api, family.identifier, family.provisional_password)).status_code == 200
    handle = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, workflow_id(family.account_id)
    )
    await time_skipping_env.sleep(timedelta(days=1, hours=23))
    assert (await handle.query(ActivationWorkflow.status)).step == ActivationStep.PROFILE
    await time_skipping_env.sleep(timedelta(hours=2))
    assert (await handle.result()).step == ActivationStep.EXPIRED


async def test_sign_in_answers_with_the_status_the_process_has_at_its_start(
    api, db_pool, time_skipping_env
):
    """The sign-in that starts the process answers without querying it (issue
    14): what it says is what the process then answers; a second sign-in,
    the process running, queries it."""
    family = await make_family(db_pool)
    signed = await sign_in(api, family.identifier, family.provisional_password)
    assert signed.status_code == 200, signed.text
    handle = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, workflow_id(family.account_id)
    )
    queried = await handle.query(ActivationWorkflow.status)
    assert queried.step == ActivationStep.PROFILE and queried.identifier == family.identifier
    said = {k: v for k, v in signed.json()["activation"].items() if k in type(queried).model_fields}
    assert said == queried.model_dump(mode="json")

    # A wrong birthdate changes the status: the next sign-in says so (queried).
    await pending_passwords.keep(db_pool, family.account_id, handle.id, NEW_PASSWORD)
    wrong = await handle.execute_update(
        ActivationWorkflow.submit_profile,
        ProfileSubmission(
            email=family.email, child_birthdate=family.child_birthdates[0].replace(year=1990)
        ),
    )
    assert not wrong.accepted and wrong.attempts_left == 2
    again = await sign_in(api, family.identifier, family.provisional_password)
    assert again.json()["activation"]["attempts_left"] == 2
