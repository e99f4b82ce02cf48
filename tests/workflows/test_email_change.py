"""Email change with resend (DESIGN §3.8, FAQ 7–11) on the time-skipping
server, with the real activities (PostgreSQL, SMTP) and the real API in process."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage

from educonnect.emails.account import FIRST_VALIDATION_SUBJECT, NEW_ADDRESS_SUBJECT
from educonnect.errors import ErrorCode
from educonnect.models.email_change import EmailChangeStep, ResendValidation
from educonnect.search_attributes import PROCESS_STEP
from tests.support.accounts import ActiveAccount, make_active_account, random_mobile, sign_in
from tests.support.mail import Mailbox, link_in, token_of
from tests.support.sms import SmsOutbox
from tests.support.smtp_gate import HoldAfter
from workflows.email_change import EmailChangeWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

WAIT_S = 60  # emails and SMS come within seconds; a loaded machine may take longer

REQUESTED_SUBJECT = "Demande de modification de l'adresse électronique de votre compte EduConnect"
CHANGED_SUBJECT = "L'adresse électronique de votre compte EduConnect a été modifiée"


def new_address() -> str:
    return f"nouvelle.{uuid.uuid4().hex[:10]}@example.org"


async def signed_in(api: httpx.AsyncClient, account: ActiveAccount) -> httpx.Response:
    response = await sign_in(api, account.identifier, account.password)
    assert response.status_code == 200, response.text
    return response


async def ask_change(
    api: httpx.AsyncClient, email: str, confirmation: str | None = None
) -> httpx.Response:
    return await api.post(
        "/account/email", json={"email": email, "email_confirmation": confirmation or email}
    )


async def click(api: httpx.AsyncClient, link: str) -> httpx.Response:
    """Open the page of the link, then press its button (opening alone changes nothing)."""
    assert "/account/email/validation?jeton=" in link
    token = token_of(link)
    page = await api.get("/account/email/validation", params={"jeton": token})
    if page.status_code != 200 or "Valider cette adresse" not in page.text:
        return page
    return await api.post("/account/email/validation", data={"jeton": token})


async def account_email(db_pool, account: ActiveAccount) -> tuple[str | None, bool]:
    row = await db_pool.fetchrow(
        "SELECT email, email_verified_at IS NOT NULL AS verified FROM accounts WHERE id = $1",
        account.account_id,
    )
    return row["email"], row["verified"]


def handle_of(env, account: ActiveAccount):
    return env.client.get_workflow_handle_for(
        EmailChangeWorkflow.run, workflow_id(account.account_id)
    )


async def test_change_tells_the_old_address_twice_and_validates_the_new_one(
    api, db_pool, mailbox: Mailbox
):
    account = await make_active_account(db_pool)
    await signed_in(api, account)
    target = new_address()

    changed = await ask_change(api, target)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["pending_email_change"]["email"] == target
    assert "Deux courriels" in body["message"]

    [validation] = await mailbox.wait_for(target, 1, timeout=WAIT_S)
    assert validation.subject == NEW_ADDRESS_SUBJECT  # the account already had a validated address
    assert "Administrateur des services en ligne" in validation.sender
    [requested] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    assert requested.subject == REQUESTED_SUBJECT and target in requested.text

    # FAQ 8: the account says a change is pending and offers a new email.
    view = (await api.get("/account")).json()
    assert view["pending_email_change"]["email"] == target
    assert view["email"] == account.email and view["email_verified"] is True
    assert "Renvoyez un email de validation" in view["pending_email_change"]["message"]
    assert {a["action"] for a in view["actions"]} >= {"resend", "cancel", "change_email"}

    done = await click(api, link_in(validation))
    assert done.status_code == 200 and "Adresse validée" in done.text, done.text
    assert await account_email(db_pool, account) == (target, True)
    _, told = await mailbox.wait_for(account.email, 2, timeout=WAIT_S)
    assert told.subject == CHANGED_SUBJECT and target in told.text
    assert (await api.get("/account")).json()["pending_email_change"] is None

    twice = await click(api, link_in(validation))
    assert twice.status_code == 200 and "déjà été utilisé" in twice.text


async def test_link_expires_after_72_hours_and_the_person_is_told_at_next_sign_in(
    api, db_pool, mailbox: Mailbox, time_skipping_env
):
    account = await make_active_account(db_pool)
    await signed_in(api, account)
    target = new_address()
    assert (await ask_change(api, target)).status_code == 200
    [validation] = await mailbox.wait_for(target, 1, timeout=WAIT_S)
    handle = handle_of(time_skipping_env, account)

    await time_skipping_env.sleep(timedelta(hours=71, minutes=58))
    assert (
        await handle.query(EmailChangeWorkflow.status)
    ).step == EmailChangeStep.AWAITING_VALIDATION
    page = await api.get(
        "/account/email/validation", params={"jeton": token_of(link_in(validation))}
    )
    assert page.status_code == 200 and "Valider cette adresse" in page.text

    await time_skipping_env.sleep(timedelta(minutes=3))
    assert (await handle.result()).step == EmailChangeStep.EXPIRED
    assert (await handle.describe()).typed_search_attributes.get(PROCESS_STEP) == "expired"
    expired = await click(api, link_in(validation))
    assert expired.status_code == 410 and "n'a pas été modifiée" in expired.text
    assert await account_email(db_pool, account) == (account.email, True)

    # Told once, at the next sign-in.
    notices = (await signed_in(api, account)).json()["notices"]
    assert len(notices) == 1 and target in notices[0] and "expiré" in notices[0]
    assert (await signed_in(api, account)).json()["notices"] == []


async def test_resend_kills_the_old_link(api, db_pool, mailbox: Mailbox, time_skipping_env):
    account = await make_active_account(db_pool)
    await signed_in(api, account)
    target = new_address()
    assert (await ask_change(api, target)).status_code == 200
    [first] = await mailbox.wait_for(target, 1, timeout=WAIT_S)

    too_soon = await api.post("/account/email/resend")
    assert too_soon.status_code == 429 and too_soon.json()["code"] == "resend_too_soon"
    again_too_soon = await ask_change(
        api, target
    )  # typing the same address again is a resend (FAQ 8)
    assert again_too_soon.status_code == 429 and again_too_soon.json()["code"] == "resend_too_soon"

    await time_skipping_env.sleep(timedelta(seconds=61))
    resent = await api.post("/account/email/resend")
    assert resent.status_code == 200, resent.text
    assert "nouvel email" in resent.json()["message"]
    first_again, second = await mailbox.wait_for(target, 2, timeout=WAIT_S)
    assert first_again.id == first.id and link_in(second) != link_in(first)
    assert "remplace" in second.text
    assert len(mailbox.to(account.email)) == 1, "a resend must not tell the old address again"

    old = await click(api, link_in(first))
    assert old.status_code == 410 and "remplacé" in old.text
    assert await account_email(db_pool, account) == (account.email, True)
    assert (await click(api, link_in(second))).status_code == 200
    assert await account_email(db_pool, account) == (target, True)


async def test_a_replaced_address_gets_the_only_live_link(api, db_pool, mailbox: Mailbox):
    account = await make_active_account(db_pool)
    await signed_in(api, account)
    typo, right = new_address(), new_address()
    assert (await ask_change(api, typo)).status_code == 200
    [to_typo] = await mailbox.wait_for(typo, 1, timeout=WAIT_S)

    replaced = await ask_change(api, right)  # no cooldown for another address
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["pending_email_change"]["email"] == right
    [to_right] = await mailbox.wait_for(right, 1, timeout=WAIT_S)
    requested = await mailbox.wait_for(account.email, 2, timeout=WAIT_S)
    assert [m.subject for m in requested] == [REQUESTED_SUBJECT] * 2 and right in requested[1].text

    dead = await click(api, link_in(to_typo))
    assert dead.status_code == 410
    assert await account_email(db_pool, account) == (account.email, True)
    assert (await click(api, link_in(to_right))).status_code == 200
    assert await account_email(db_pool, account) == (right, True)
    live = await db_pool.fetchval(
        "SELECT count(*) FROM email_links WHERE process_id = $1 AND used_at IS NULL AND revoked_at IS NULL "
        "AND expires_at > now()",
        workflow_id(account.account_id),
    )
    assert live == 0


async def test_first_validation_of_an_unvalidated_address(api, db_pool, mailbox: Mailbox):
    """FAQ 7 and 9: sign-in asks to check the address; validating it unchanged
    sends the email FAQ 9 describes to that address, and nobody else hears of it."""
    account = await make_active_account(db_pool, email_verified=False)
    signed = (await signed_in(api, account)).json()
    assert signed["email_validation_required"] is True and signed["next"] == "/account/email"

    entry = await api.get("/account/email")
    assert entry.status_code == 200
    assert (
        entry.json()["email_validation_required"] is True
        and "pas encore été validée" in entry.json()["message"]
    )

    confirmed = await ask_change(api, account.email)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["pending_email_change"]["first_validation"] is True
    [validation] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    assert validation.subject == FIRST_VALIDATION_SUBJECT
    assert "Administrateur des services en ligne" in validation.sender
    assert (
        FIRST_VALIDATION_SUBJECT
        in (await api.get("/account")).json()["pending_email_change"]["message"]
    )

    assert (await click(api, link_in(validation))).status_code == 200
    assert await account_email(db_pool, account) == (account.email, True)
    assert (
        len(await mailbox.wait_for(account.email, 2, timeout=1)) == 1
    )  # no "changed" notice to itself
    after = (await signed_in(api, account)).json()
    assert after["email_validation_required"] is False and after["next"] == "/portal"


async def test_without_a_validated_address_the_verified_number_is_told_by_sms(
    sms_gateway, api, db_pool, mailbox: Mailbox
):
    """DESIGN §4: an email change is told to the previous contact. A guardian
    registered by SMS has a verified number and the school's address, never
    validated: the number hears of the change asked for, then made (the
    unvalidated address, maybe not theirs, hears nothing)."""
    mobile = random_mobile()
    account = await make_active_account(db_pool, email_verified=False, mobile=mobile)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    await signed_in(api, account)
    target = new_address()

    assert (await ask_change(api, target)).status_code == 200
    [requested] = await outbox.wait_for(mobile, 1, timeout=WAIT_S)
    assert target in requested["text"] and "demande de modification" in requested["text"]
    [validation] = await mailbox.wait_for(target, 1, timeout=WAIT_S)
    assert (await click(api, link_in(validation))).status_code == 200

    _, changed = await outbox.wait_for(mobile, 2, timeout=WAIT_S)
    assert f"est désormais {target}" in changed["text"]
    assert await account_email(db_pool, account) == (target, True)
    assert await mailbox.wait_for(account.email, 1, timeout=1) == []


async def test_cancel_leaves_the_address_unchanged(
    api, db_pool, mailbox: Mailbox, time_skipping_env
):
    account = await make_active_account(db_pool)
    await signed_in(api, account)
    target = new_address()
    assert (await ask_change(api, target)).status_code == 200
    [validation] = await mailbox.wait_for(target, 1, timeout=WAIT_S)

    cancelled = await api.post("/account/email/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (
        cancelled.json()["pending_email_change"] is None
        and "annulée" in cancelled.json()["message"]
    )
    assert (await handle_of(time_skipping_env, account).result()).step == EmailChangeStep.CANCELLED
    assert (await click(api, link_in(validation))).status_code == 410
    assert await account_email(db_pool, account) == (account.email, True)
    nothing = await api.post("/account/email/resend")
    assert nothing.status_code == 404 and nothing.json()["code"] == "email_change_not_found"
    # No notice for a change the person cancelled.
    assert (await signed_in(api, account)).json()["notices"] == []

    # A new change starts afresh (a new run of the same workflow id).
    other = new_address()
    assert (await ask_change(api, other)).status_code == 200
    assert (await api.get("/account")).json()["pending_email_change"]["email"] == other


async def test_refusals(api, db_pool):
    account = await make_active_account(db_pool)
    await signed_in(api, account)

    mismatch = await ask_change(api, new_address(), new_address())
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "email_mismatch"
    invalid = await ask_change(api, "pas-une-adresse")
    assert invalid.status_code == 422 and invalid.json()["code"] == "email_invalid"
    same = await ask_change(api, account.email.upper())
    assert same.status_code == 409 and same.json()["code"] == "email_unchanged"
    missing = await api.post("/account/email", json={"email": new_address()})
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_input"

    # Older than 15 minutes: a fresh sign-in is needed, for the email and for the password.
    await db_pool.execute(
        "UPDATE sessions SET created_at = now() - interval '16 minutes' WHERE account_id = $1 AND revoked_at IS NULL",
        account.account_id,
    )
    stale = await ask_change(api, new_address())
    assert stale.status_code == 401 and stale.json()["code"] == "recent_sign_in_required"
    stale_password = await api.post(
        "/account/password",
        json={
            "current_password": account.password,
            "new_password": "Nuage2028k",
            "new_password_confirmation": "Nuage2028k",
        },
    )
    assert (
        stale_password.status_code == 401
        and stale_password.json()["code"] == "recent_sign_in_required"
    )
    assert (await api.get("/account")).status_code == 200  # reading is fine

    api.cookies.clear()
    anonymous = await api.get("/account")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "session_required"


async def test_a_resend_while_a_link_is_on_its_way_is_refused_at_once(
    api, db_pool, mailbox: Mailbox, smtp_sink, time_skipping_env
):
    """A slow mail server and a burst of "renvoyer": the requests are refused by
    the validator (nothing in the history), not queued behind the link on its way."""
    account = await make_active_account(db_pool)
    await signed_in(api, account)
    domain = f"lent-{uuid.uuid4().hex[:8]}.example.org"
    target = f"nouvelle@{domain}"
    assert (await ask_change(api, target)).status_code == 200
    await mailbox.wait_for(target, 1, timeout=WAIT_S)
    await time_skipping_env.sleep(timedelta(seconds=61))
    handle = handle_of(time_skipping_env, account)
    with HoldAfter(smtp_sink, domain, 0) as gate:
        first = await handle.start_update(
            EmailChangeWorkflow.resend_link,
            ResendValidation(),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        assert await gate.wait_holding(10), "the resent link never reached the mail server"
        with pytest.raises(
            WorkflowUpdateFailedError
        ) as again:  # (queued, it would not answer in time)
            await asyncio.wait_for(
                handle.execute_update(EmailChangeWorkflow.resend_link, ResendValidation()), 5
            )
        assert again.value.cause.type == ErrorCode.RESEND_TOO_SOON
    await first.result()  # the held link goes out once the server answers again
    assert len(await mailbox.wait_for(target, 2, timeout=WAIT_S)) == 2
    accepted = [
        e
        for e in (await handle.fetch_history()).events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 2  # the first request and the resend: the refused one left no trace
