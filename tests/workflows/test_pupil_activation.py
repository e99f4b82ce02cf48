"""Pupil activation (DESIGN §3.4, FAQ 2.4) on the time-skipping server, with
the real activities (PostgreSQL, SMTP) and the real API in process."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from educonnect.models.activation import ActivationStep
from educonnect.search_attributes import PROCESS_STEP
from tests.support.mail import Mailbox, link_in
from tests.support.pupils import PupilAccount, make_pupil
from tests.workflows.test_activation import click, sign_in
from workflows.pupil_activation import PupilActivationWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Cartable2027"


def profile(pupil: PupilAccount, *, email: str | None = None, birthdate=None) -> dict:
    body = {
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
        "birthdate": (birthdate or pupil.birthdate).isoformat(),
    }
    if email is not None:
        body["email"] = email
    return body


async def start(api: httpx.AsyncClient, pupil: PupilAccount) -> dict:
    signed = await sign_in(api, pupil.identifier, pupil.provisional_password)
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["status"] == "activation_required" and body["next"] == "/pupil-activation"
    assert body["activation"] is None and body["pupil_activation"]["step"] == "profile"
    return body


async def account(db_pool, pupil: PupilAccount):
    return await db_pool.fetchrow(
        "SELECT state, email, email_verified_at, password_hash, provisional_password_hash FROM accounts WHERE id = $1",
        pupil.account_id,
    )


def handle_of(env, pupil: PupilAccount):
    return env.client.get_workflow_handle_for(
        PupilActivationWorkflow.run, workflow_id(pupil.account_id)
    )


async def test_without_email_the_account_is_active_at_once(api, db_pool, time_skipping_env):
    pupil = await make_pupil(db_pool)
    await start(api, pupil)
    done = await api.post("/pupil-activation/profile", json=profile(pupil))
    assert done.status_code == 200, done.text
    view = done.json()
    assert view["step"] == "active" and view["email"] is None and view["email_confirmed"] is False
    assert "vous ne pourrez pas les récupérer seul" in view["recovery_notice"]
    assert view["step_label"] == "Compte activé sans adresse électronique confirmée"

    row = await account(db_pool, pupil)
    assert row["state"] == "active" and row["email"] is None and row["email_verified_at"] is None
    assert row["provisional_password_hash"] is None and row["password_hash"].startswith(
        "$argon2id$"
    )
    handle = handle_of(time_skipping_env, pupil)
    assert (await handle.result()).step == ActivationStep.ACTIVE
    assert (await handle.describe()).typed_search_attributes.get(PROCESS_STEP) == "active"

    signed = await sign_in(api, pupil.identifier, NEW_PASSWORD)
    assert signed.status_code == 200 and signed.json()["status"] == "signed_in"
    assert signed.json()["email_validation_required"] is False  # a pupil's address is optional
    old = await sign_in(api, pupil.identifier, pupil.provisional_password)
    assert old.status_code == 401 and old.json()["code"] == "invalid_credentials"


async def test_with_email_the_shared_link_page_activates(
    api, db_pool, mailbox: Mailbox, time_skipping_env
):
    pupil = await make_pupil(db_pool)
    address = f"{pupil.identifier.replace('.', '-')}@example.fr"
    await start(api, pupil)
    submitted = await api.post("/pupil-activation/profile", json=profile(pupil, email=address))
    assert submitted.status_code == 200, submitted.text
    assert (
        submitted.json()["step"] == "awaiting_confirmation" and submitted.json()["email"] == address
    )
    assert (await account(db_pool, pupil))["state"] == "activating"

    [confirmation] = await mailbox.wait_for(address, 1)
    assert (
        confirmation.subject
        == "Confirmez votre adresse électronique pour activer votre compte élève EduConnect"
    )
    assert (
        "Administrateur des services en ligne" in confirmation.sender
        and pupil.identifier in confirmation.text
    )
    page = await click(api, link_in(confirmation))
    assert page.status_code == 200 and "Compte activé" in page.text, page.text

    row = await account(db_pool, pupil)
    assert (
        row["state"] == "active"
        and row["email"] == address
        and row["email_verified_at"] is not None
    )
    status = await handle_of(time_skipping_env, pupil).query(PupilActivationWorkflow.status)
    assert status.email_confirmed and status.recovery_notice is None
    twice = await click(api, link_in(confirmation))
    assert "déjà été utilisé" in twice.text
    assert (await sign_in(api, pupil.identifier, NEW_PASSWORD)).json()["status"] == "signed_in"


async def test_reminder_then_expiry_puts_the_account_back(
    api, db_pool, mailbox: Mailbox, time_skipping_env
):
    pupil = await make_pupil(db_pool)
    address = f"{pupil.identifier.replace('.', '-')}@example.fr"
    await start(api, pupil)
    assert (
        await api.post("/pupil-activation/profile", json=profile(pupil, email=address))
    ).status_code == 200
    [first] = await mailbox.wait_for(address, 1)

    await time_skipping_env.sleep(timedelta(days=2, hours=23))
    assert len(await mailbox.wait_for(address, 2, timeout=1)) == 1, "reminder sent before 3 days"
    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
    _, reminder = await mailbox.wait_for(address, 2)
    assert reminder.subject.startswith("Rappel")

    await time_skipping_env.sleep(timedelta(days=4, minutes=1))
    handle = handle_of(time_skipping_env, pupil)
    assert (await handle.result()).step == ActivationStep.EXPIRED
    expired = await click(api, link_in(reminder))
    assert expired.status_code == 410
    row = await account(db_pool, pupil)
    assert row["state"] == "provisioned" and row["password_hash"] is None and row["email"] is None
    again = await start(api, pupil)  # the school's credentials start over
    assert again["pupil_activation"]["attempts_left"] == 3


async def test_correct_the_address_or_go_on_without(
    api, db_pool, mailbox: Mailbox, time_skipping_env
):
    pupil = await make_pupil(db_pool)
    typo = f"{pupil.identifier.replace('.', '-')}@gmial.example.fr"
    right = f"{pupil.identifier.replace('.', '-')}@example.fr"
    await start(api, pupil)
    assert (
        await api.post("/pupil-activation/profile", json=profile(pupil, email=typo))
    ).status_code == 200
    [to_typo] = await mailbox.wait_for(typo, 1)
    corrected = await api.post("/pupil-activation/email", json={"email": right})
    assert corrected.status_code == 200 and corrected.json()["email"] == right
    [to_right] = await mailbox.wait_for(right, 1)
    too_soon = await api.post("/pupil-activation/resend-link")
    assert too_soon.status_code == 429 and too_soon.json()["code"] == "resend_too_soon"

    skipped = await api.post("/pupil-activation/skip-email")
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["step"] == "active" and skipped.json()["email"] is None
    assert skipped.json()["recovery_notice"]
    row = await account(db_pool, pupil)
    assert row["state"] == "active" and row["email"] is None and row["email_verified_at"] is None
    for message in (to_typo, to_right):  # no link of the process works any more
        assert (await click(api, link_in(message))).status_code == 410
    assert (await account(db_pool, pupil))["email"] is None
    again = await api.post("/pupil-activation/skip-email")
    assert again.status_code == 410 and again.json()["code"] == "process_ended"


async def test_own_birthdate_three_tries_and_password_rules(api, db_pool, time_skipping_env):
    pupil = await make_pupil(db_pool)
    await start(api, pupil)
    named = dict(profile(pupil), password="Ines2024ab", password_confirmation="Ines2024ab")
    refused = await api.post("/pupil-activation/profile", json=named)
    assert refused.status_code == 422 and {d["code"] for d in refused.json()["details"]} == {
        "password_name"
    }
    assert (
        refused.json()["details"][0]["message"]
        == "Le mot de passe ne doit contenir ni votre nom ni votre prénom."
    )
    empty_email = await api.post(
        "/pupil-activation/profile", json=profile(pupil, email="pas-une-adresse")
    )
    assert empty_email.status_code == 422 and empty_email.json()["code"] == "email_invalid"

    wrong = profile(pupil, birthdate=pupil.birthdate.replace(year=pupil.birthdate.year + 1))
    first = await api.post("/pupil-activation/profile", json=wrong)
    assert first.status_code == 422 and first.json()["code"] == "birthdate_incorrect"
    assert first.json()["message"].endswith("Il vous reste 2 essais.")
    second = (await api.post("/pupil-activation/profile", json=wrong)).json()
    assert second["details"][0]["attempts_left"] == 1 and second["message"].endswith(
        "Il vous reste 1 essai."
    )
    third = await api.post("/pupil-activation/profile", json=wrong)
    assert third.status_code == 423 and third.json()["code"] == "birthdate_blocked"
    assert third.json()["details"][0]["assistance_url"]
    assert (await api.post("/pupil-activation/profile", json=profile(pupil))).json()[
        "code"
    ] == "birthdate_blocked"
    assert (await account(db_pool, pupil))["state"] == "provisioned"
    status = (await api.get("/pupil-activation")).json()
    assert status["step"] == "birthdate_blocked" and status["assistance_url"]


async def test_a_guardian_session_does_not_reach_a_pupil_process(api, db_pool):
    from tests.support.families import make_family

    family = await make_family(db_pool)
    assert (await sign_in(api, family.identifier, family.provisional_password)).status_code == 200
    response = await api.get("/pupil-activation")
    assert response.status_code == 404 and response.json()["code"] == "process_not_found"


async def test_links_are_capped_as_for_a_guardian(api, db_pool, mailbox: Mailbox):
    pupil = await make_pupil(db_pool)
    address = f"{pupil.identifier.replace('.', '-')}@example.fr"
    await start(api, pupil)
    assert (
        await api.post("/pupil-activation/profile", json=profile(pupil, email=address))
    ).status_code == 200
    answers = [
        await api.post("/pupil-activation/email", json={"email": f"n{n}.{address}"})
        for n in range(2, 12)
    ]
    assert [a.status_code for a in answers] == [200] * 9 + [429], answers[-1].text
    assert answers[-1].json()["code"] == "too_many_links" and mailbox.to(f"n11.{address}") == []
    assert (await api.get("/pupil-activation")).json()["links_sent"] == 10


async def test_sign_in_answers_with_the_status_the_process_has_at_its_start(
    api, db_pool, time_skipping_env
):
    """As for a guardian (issue 14): the sign-in that starts the process says
    what the process then answers, without querying it."""
    pupil = await make_pupil(db_pool)
    signed = await sign_in(api, pupil.identifier, pupil.provisional_password)
    assert signed.status_code == 200, signed.text
    handle = time_skipping_env.client.get_workflow_handle_for(
        PupilActivationWorkflow.run, workflow_id(pupil.account_id)
    )
    queried = await handle.query(PupilActivationWorkflow.status)
    assert queried.step == ActivationStep.PROFILE and queried.identifier == pupil.identifier
    said = {
        k: v
        for k, v in signed.json()["pupil_activation"].items()
        if k in type(queried).model_fields
    }
    assert said == queried.model_dump(mode="json")
