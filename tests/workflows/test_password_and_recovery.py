"""Password change (FAQ 10), lost password and lost identifier (FAQ 4–5) on
the time-skipping server, with the real activities (PostgreSQL, SMTP, the
real HTTP SMS gateway) and the real API in process."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

import httpx
import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata

from educonnect.models.recovery import PasswordResetStep
from tests.support.accounts import ActiveAccount, make_active_account, random_mobile, sign_in
from tests.support.histories import timeline_summaries
from tests.support.mail import Mailbox, link_in, token_of
from tests.support.sms import SmsOutbox, code_in
from workflows.password_reset import EXPIRY_SUMMARY, PasswordResetWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

WAIT_S = 60  # emails and SMS come within seconds; a loaded machine may take longer

NEW_PASSWORD = "Nuage2028k"
PASSWORD_CHANGED_SUBJECT = "Le mot de passe de votre compte EduConnect a été modifié"
RESET_SUBJECT = "Réinitialisation du mot de passe de votre compte EduConnect"


def session_cookie(client: httpx.AsyncClient) -> str:
    token = client.cookies.get("educonnect_session")
    assert token
    return token


def use_session(client: httpx.AsyncClient, token: str) -> None:
    client.cookies.clear()
    client.cookies.set("educonnect_session", token)


async def two_sessions(api: httpx.AsyncClient, account: ActiveAccount) -> tuple[str, str]:
    """Two sign-ins, as from two browsers."""
    assert (await sign_in(api, account.identifier, account.password)).status_code == 200
    first = session_cookie(api)
    assert (await sign_in(api, account.identifier, account.password)).status_code == 200
    return first, session_cookie(api)


async def change_password(
    api, current: str, new: str, confirmation: str | None = None
) -> httpx.Response:
    return await api.post(
        "/account/password",
        json={
            "current_password": current,
            "new_password": new,
            "new_password_confirmation": confirmation or new,
        },
    )


async def reset_handle(env, db_pool, account: ActiveAccount):
    process_id = await db_pool.fetchval(
        "SELECT process_id FROM email_links WHERE account_id = $1 AND purpose = 'password_reset' "
        "ORDER BY created_at DESC LIMIT 1",
        account.account_id,
    )
    return env.client.get_workflow_handle_for(PasswordResetWorkflow.run, process_id)


async def open_reset_link(api: httpx.AsyncClient, link: str) -> httpx.Response:
    assert "/recovery/password/link?jeton=" in link
    return await api.get("/recovery/password/link", params={"jeton": token_of(link)})


async def submit_reset_link(
    api, link: str, password: str, confirmation: str | None = None
) -> httpx.Response:
    return await api.post(
        "/recovery/password/link",
        data={
            "jeton": token_of(link),
            "password": password,
            "password_confirmation": confirmation or password,
        },
    )


# --- password change -------------------------------------------------------------------


async def test_password_change_ends_the_other_sessions(api, db_pool, mailbox: Mailbox):
    account = await make_active_account(db_pool)
    mine, other = await two_sessions(api, account)
    use_session(api, mine)

    wrong = await change_password(api, "Mauvais2027z", NEW_PASSWORD)
    assert wrong.status_code == 422 and wrong.json()["code"] == "current_password_incorrect"
    weak = await change_password(api, account.password, "court1")
    assert weak.status_code == 422 and weak.json()["code"] == "password_policy"
    assert {d["code"] for d in weak.json()["details"]} == {"password_length"}
    named = await change_password(
        api, account.password, f"{account.family.child_birthdates[0]:%d%m%Y}ab"
    )
    assert named.status_code == 422 and "password_birthdate" in {
        d["code"] for d in named.json()["details"]
    }
    mismatch = await change_password(api, account.password, NEW_PASSWORD, "Nuage2028x")
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "password_mismatch"
    same = await change_password(api, account.password, account.password)
    assert same.status_code == 422 and same.json()["code"] == "password_unchanged"

    changed = await change_password(api, account.password, NEW_PASSWORD)
    assert changed.status_code == 200, changed.text
    assert changed.json()["sessions_ended"] == 1
    assert "prochaine connexion" in changed.json()["message"]

    assert (await api.get("/account")).status_code == 200  # this session goes on
    use_session(api, other)
    ended = await api.get("/account")
    assert ended.status_code == 401 and ended.json()["code"] == "session_required"

    [notice] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    assert notice.subject == PASSWORD_CHANGED_SUBJECT and "gestion de votre compte" in notice.text
    assert (await sign_in(api, account.identifier, account.password)).status_code == 401
    assert (await sign_in(api, account.identifier, NEW_PASSWORD)).json()["status"] == "signed_in"
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM pending_passwords WHERE account_id = $1", account.account_id
        )
        == 0
    )


# --- lost password by email -------------------------------------------------------------------


async def test_reset_by_email_link_ends_every_session_and_unlocks(api, db_pool, mailbox: Mailbox):
    account = await make_active_account(db_pool)
    _, other = await two_sessions(api, account)
    # Locked by 100 failures (sign-in limits): a new password lifts the lock.
    await db_pool.execute("UPDATE accounts SET state = 'locked' WHERE id = $1", account.account_id)
    await db_pool.execute(
        "INSERT INTO sign_in_failures (identifier, failures, locked_at) VALUES ($1, 100, now())",
        account.identifier,
    )
    api.cookies.clear()

    asked = await api.post(
        "/recovery/password/email",
        json={"identifier": account.identifier.upper(), "email": account.email},
    )
    assert asked.status_code == 202, asked.text
    [mail] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    assert mail.subject == RESET_SUBJECT and account.identifier in mail.text
    link = link_in(mail)

    form = await open_reset_link(api, link)
    assert form.status_code == 200 and 'name="password"' in form.text
    weak = await submit_reset_link(api, link, "abc")
    assert weak.status_code == 422 and "entre 8 et 14" in weak.text
    mismatch = await submit_reset_link(api, link, NEW_PASSWORD, "Nuage2028x")
    assert mismatch.status_code == 422 and "différents" in mismatch.text

    done = await submit_reset_link(api, link, NEW_PASSWORD)
    assert done.status_code == 200 and "Mot de passe modifié" in done.text, done.text
    assert "educonnect_session" not in done.headers.get("set-cookie", "")  # not signed in
    again = await open_reset_link(api, link)
    assert "déjà été utilisé" in again.text

    use_session(api, other)
    assert (await api.get("/account")).status_code == 401
    _, notice = await mailbox.wait_for(account.email, 2, timeout=WAIT_S)
    assert notice.subject == PASSWORD_CHANGED_SUBJECT and "Mot de passe perdu" in notice.text
    assert (
        await db_pool.fetchval("SELECT state FROM accounts WHERE id = $1", account.account_id)
        == "active"
    )
    assert (await sign_in(api, account.identifier, account.password)).status_code == 401
    assert (await sign_in(api, account.identifier, NEW_PASSWORD)).json()["status"] == "signed_in"


async def test_reset_link_expires_after_one_hour(api, db_pool, mailbox: Mailbox, time_skipping_env):
    account = await make_active_account(db_pool)
    asked = await api.post(
        "/recovery/password/email", json={"identifier": account.identifier, "email": account.email}
    )
    assert asked.status_code == 202
    [mail] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    link = link_in(mail)
    handle = await reset_handle(time_skipping_env, db_pool, account)

    await time_skipping_env.sleep(timedelta(minutes=59))
    assert (
        await handle.query(PasswordResetWorkflow.status)
    ).step == PasswordResetStep.AWAITING_LINK
    assert (await open_reset_link(api, link)).status_code == 200

    await time_skipping_env.sleep(timedelta(minutes=2))
    assert (await handle.result()).step == PasswordResetStep.EXPIRED
    page = await open_reset_link(api, link)
    assert page.status_code == 410 and "valable une heure" in page.text
    late = await submit_reset_link(api, link, NEW_PASSWORD)
    assert late.status_code == 410
    assert (await sign_in(api, account.identifier, account.password)).json()[
        "status"
    ] == "signed_in"

    # The Web UI's timeline reads as the process: French summaries, encrypted.
    activities, timers = await timeline_summaries(time_skipping_env.client, handle)
    assert activities == [
        "Recherche du compte à réinitialiser",
        "Envoi du lien de réinitialisation",
        "Clôture de la réinitialisation expirée",
    ]
    assert timers == [EXPIRY_SUMMARY] and EXPIRY_SUMMARY == "Expiration de la réinitialisation"


# --- lost password by SMS ----------------------------------------------------------------------


async def test_reset_by_sms_code(api, db_pool, mailbox: Mailbox, sms_gateway, time_skipping_env):
    mobile = random_mobile()
    account = await make_active_account(db_pool, mobile=mobile)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    national = "0" + mobile[3:]

    asked = await api.post(
        "/recovery/password/sms", json={"identifier": account.identifier, "mobile": national}
    )
    assert asked.status_code == 202, asked.text
    reset_id = asked.json()["reset_id"]
    [sms] = await outbox.wait_for(mobile, 1, timeout=WAIT_S)
    code = code_in(sms)

    too_early = await api.post(
        f"/recovery/password/{reset_id}/new-password",
        json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
    )
    assert too_early.status_code == 409 and too_early.json()["code"] == "reset_wrong_step"
    wrong = await api.post(
        f"/recovery/password/{reset_id}/code",
        json={"code": "000000" if code != "000000" else "111111"},
    )
    assert wrong.status_code == 422 and wrong.json()["details"][0]["attempts_left"] == 4
    status = (await api.get(f"/recovery/password/{reset_id}")).json()
    assert status["step"] == "awaiting_code" and status["code"]["attempts_left"] == 4
    # What an operator reads in the Web UI ("Current details"), in French.
    handle = time_skipping_env.client.get_workflow_handle(workflow_id(reset_id))
    details = (
        await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    ).current_details
    assert "erreurs : 1/5 (dernier envoi : code envoyé)" in details, details

    right = await api.post(f"/recovery/password/{reset_id}/code", json={"code": code})
    assert right.status_code == 200 and right.json()["step"] == "new_password", right.text
    done = await api.post(
        f"/recovery/password/{reset_id}/new-password",
        json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
    )
    assert done.status_code == 200, done.text
    assert done.json()["identifier"] == account.identifier
    assert "educonnect_session" not in done.headers.get("set-cookie", "")
    twice = await api.post(
        f"/recovery/password/{reset_id}/new-password",
        json={"password": "Autre2029pp", "password_confirmation": "Autre2029pp"},
    )
    assert twice.status_code == 409 and twice.json()["code"] == "reset_completed"

    [notice] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    assert notice.subject == PASSWORD_CHANGED_SUBJECT
    assert (await sign_in(api, account.identifier, NEW_PASSWORD)).json()["status"] == "signed_in"


async def test_sms_reset_is_bound_to_the_browser_that_asked(api, db_pool, sms_gateway, make_client):
    """The reset id is in the address bar and the history: another browser
    holding it, even once the code was verified, cannot choose the password
    (and so take the account), nor read or answer any step."""
    mobile = random_mobile()
    account = await make_active_account(db_pool, mobile=mobile)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    asked = await api.post(
        "/recovery/password/sms", json={"identifier": account.identifier, "mobile": mobile}
    )
    reset_id = asked.json()["reset_id"]
    [sms] = await outbox.wait_for(mobile, 1, timeout=WAIT_S)
    code = code_in(sms)
    assert (await api.post(f"/recovery/password/{reset_id}/code", json={"code": code})).json()[
        "step"
    ] == "new_password"

    stranger = make_client()
    unknown = (await stranger.get(f"/recovery/password/{uuid.uuid4()}")).json()
    taken = {"password": "Pirate2029x", "password_confirmation": "Pirate2029x"}
    refusals = [
        await stranger.get(f"/recovery/password/{reset_id}"),
        await stranger.post(f"/recovery/password/{reset_id}/code", json={"code": code}),
        await stranger.post(f"/recovery/password/{reset_id}/resend-code"),
        await stranger.post(f"/recovery/password/{reset_id}/new-password", json=taken),
    ]
    for refused in refusals:
        assert refused.status_code == 404 and refused.json() == unknown, refused.text
    await stranger.aclose()
    before = await db_pool.fetchval(
        "SELECT password_hash FROM accounts WHERE id = $1", account.account_id
    )

    done = await api.post(
        f"/recovery/password/{reset_id}/new-password",
        json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
    )
    assert done.status_code == 200, done.text
    assert (
        await db_pool.fetchval(
            "SELECT password_hash FROM accounts WHERE id = $1", account.account_id
        )
        != before
    )
    assert (await sign_in(api, account.identifier, NEW_PASSWORD)).json()["status"] == "signed_in"


async def test_sms_reset_for_no_account_reads_the_same_and_sends_nothing(api, sms_gateway, db_pool):
    outbox = SmsOutbox(sms_gateway.outbox_path)
    mobile = random_mobile()
    account = await make_active_account(db_pool, mobile=random_mobile())  # another number
    asked = await api.post(
        "/recovery/password/sms", json={"identifier": account.identifier, "mobile": mobile}
    )
    assert asked.status_code == 202
    reset_id = asked.json()["reset_id"]
    for _ in range(200):  # the (absent) code goes out in the background
        status = (await api.get(f"/recovery/password/{reset_id}")).json()
        if status["code"] is not None:
            break
        assert status["step"] == "awaiting_code"
        await asyncio.sleep(0.05)
    assert status["step"] == "awaiting_code" and status["code"]["sends"] == 1
    for left in (4, 3):
        wrong = await api.post(f"/recovery/password/{reset_id}/code", json={"code": "123456"})
        assert wrong.status_code == 422 and wrong.json()["details"][0]["attempts_left"] == left
    assert outbox.to(mobile) == [] and outbox.to(account.mobile) == []
    unknown = await api.get(f"/recovery/password/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.json()["code"] == "reset_not_found"


# --- lost identifier ---------------------------------------------------------------------------


async def test_lost_identifier_by_email_and_by_sms(api, db_pool, mailbox: Mailbox, sms_gateway):
    mobile = random_mobile()
    account = await make_active_account(db_pool, mobile=mobile)
    outbox = SmsOutbox(sms_gateway.outbox_path)

    by_email = await api.post("/recovery/identifier/email", json={"email": account.email.upper()})
    assert by_email.status_code == 202, by_email.text
    [mail] = await mailbox.wait_for(account.email, 1, timeout=WAIT_S)
    assert mail.subject == "Votre identifiant EduConnect" and account.identifier in mail.text

    by_sms = await api.post("/recovery/identifier/sms", json={"mobile": "0" + mobile[3:]})
    assert by_sms.status_code == 202
    [sms] = await outbox.wait_for(mobile, 1, timeout=WAIT_S)
    assert account.identifier in sms["text"]

    # The page the SMS of an already registered guardian points to (sms_texts):
    # its forms post, then redirect (tests/test_pages_recovery_assistance.py walks them).
    page = await api.get("/identifiant-oublie")
    assert page.status_code == 200 and 'name="email"' in page.text and 'name="mobile"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    by_page = await api.post(
        "/identifiant-oublie/courriel", data={"email": account.email, "csrf_token": token}
    )
    assert by_page.status_code == 303
    sent = await api.get(by_page.headers["location"])
    assert "courriel contenant votre identifiant" in sent.text
    assert len(await mailbox.wait_for(account.email, 2, timeout=WAIT_S)) == 2
    bad = await api.post("/identifiant-oublie/sms", data={"mobile": "123", "csrf_token": token})
    refused = await api.get(bad.headers["location"])
    assert 'data-code="phone_invalid"' in refused.text
    assert "numéro de téléphone mobile saisi n&#39;est pas valide" in refused.text

    # An address that was never validated gets nothing.
    unvalidated = await make_active_account(db_pool, email_verified=False)
    assert (
        await api.post("/recovery/identifier/email", json={"email": unvalidated.email})
    ).status_code == 202
    assert await mailbox.wait_for(unvalidated.email, 1, timeout=1) == []


async def test_requests_are_limited_per_address_and_ip_without_locking(
    api, db_pool, mailbox: Mailbox
):
    account = await make_active_account(db_pool)
    unknown = f"inconnu.{uuid.uuid4().hex[:8]}@example.org"
    for address in (account.email, unknown):  # the same limit, known address or not
        for _ in range(5):
            assert (
                await api.post("/recovery/identifier/email", json={"email": address})
            ).status_code == 202
        refused = await api.post(
            "/recovery/password/email", json={"identifier": "x.y", "email": address}
        )
        assert refused.status_code == 429 and refused.json()["code"] == "recovery_rate_limited"
    assert len(await mailbox.wait_for(account.email, 5, timeout=WAIT_S)) == 5
    # Nothing here locks an account.
    assert (await sign_in(api, account.identifier, account.password)).json()[
        "status"
    ] == "signed_in"

    # Per IP: 30 requests an hour, whatever the addresses (10 were counted above).
    for i in range(20):
        ok = await api.post(
            "/recovery/identifier/email",
            json={"email": f"ip{i}.{uuid.uuid4().hex[:6]}@example.org"},
        )
        assert ok.status_code == 202, (i, ok.text)
    refused = await api.post("/recovery/identifier/sms", json={"mobile": random_mobile()})
    assert refused.status_code == 429 and refused.json()["code"] == "recovery_rate_limited"
    invalid = await api.post("/recovery/identifier/sms", json={"mobile": "12"})
    assert invalid.status_code == 422 and invalid.json()["code"] == "phone_invalid"
