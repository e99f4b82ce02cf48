"""Account management end to end on the dev server: real worker and API
processes, real PostgreSQL with the demo data, the real SMTP sink and the real
HTTP SMS gateway on loopback. Every email and SMS is read where the person
would read it (the mailbox, the gateway's outbox).

The person: a demo guardian who registers by SMS (so the number is verified
and the address on file is not: FAQ 7), validates the address, changes it,
changes the password, then loses the identifier and the password."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from educonnect.emails.account import FIRST_VALIDATION_SUBJECT, NEW_ADDRESS_SUBJECT
from tests.support.mail import Mailbox, link_in, token_of
from tests.support.sms import SmsOutbox, code_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

REQUESTED_SUBJECT = "Demande de modification de l'adresse électronique de votre compte EduConnect"
CHANGED_SUBJECT = "L'adresse électronique de votre compte EduConnect a été modifiée"
PASSWORD_SUBJECT = "Le mot de passe de votre compte EduConnect a été modifié"
PROCESS_PREFIXES = ("email-change/", "password-change/", "password-reset/", "identifier-recovery/")


@dataclass
class Person:
    identifier: str
    password: str
    email: str
    mobile: str  # E.164
    secrets: set[str] = field(
        default_factory=set
    )  # typed or received here: none may reach Temporal

    @property
    def typed_mobile(self) -> str:
        digits = "0" + self.mobile[3:]
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


async def sign_in(http, person: Person, password: str | None = None):
    http.cookies.clear()
    return await http.post(
        "/sign-in", json={"identifier": person.identifier, "password": password or person.password}
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def person(stack, sms_gateway) -> Person:
    """A demo guardian with an address on file and no account registers by SMS."""
    guardian = await stack.pool.fetchrow(
        """
        SELECT g.id, g.last_name, g.first_name, g.mobile, g.email FROM guardians g
        WHERE g.mobile IS NOT NULL AND g.email IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.guardian_id = g.id)
          AND NOT EXISTS (SELECT 1 FROM sms_codes c WHERE c.mobile = g.mobile)
          AND EXISTS (SELECT 1 FROM guardian_pupils gp WHERE gp.guardian_id = g.id)
        ORDER BY g.id LIMIT 1
        """
    )
    assert guardian is not None, "no demo guardian without an account"
    birthdate = await stack.pool.fetchval(
        "SELECT p.birthdate FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id WHERE gp.guardian_id = $1 LIMIT 1",
        guardian["id"],
    )
    outbox = SmsOutbox(sms_gateway.outbox_path)
    password = "Girafe2026k"
    async with stack.http() as http:
        started = await http.post(
            "/registration",
            json={
                "last_name": guardian["last_name"],
                "first_name": guardian["first_name"],
                "mobile": guardian["mobile"],
            },
        )
        assert started.status_code == 201, started.text
        rid = started.json()["registration_id"]
        [sms] = await outbox.wait_for(guardian["mobile"], 1, timeout=30)
        assert (
            await http.post(f"/registration/{rid}/code", json={"code": code_in(sms)})
        ).status_code == 200
        assert (
            await http.post(
                f"/registration/{rid}/birthdate", json={"birthdate": birthdate.isoformat()}
            )
        ).status_code == 200
        done = await http.post(
            f"/registration/{rid}/password",
            json={"password": password, "password_confirmation": password},
        )
        assert done.status_code == 200, done.text
    return Person(
        done.json()["identifier"],
        password,
        guardian["email"],
        guardian["mobile"],
        {password, code_in(sms)},
    )


async def open_and_validate(http, link: str):
    page = await http.get(link)
    assert page.status_code == 200 and "Valider cette adresse" in page.text, page.text
    return await http.post("/account/email/validation", data={"jeton": token_of(link)})


async def test_faq7_validation_then_a_full_email_change(stack, person: Person, mailbox: Mailbox):
    async with stack.http() as http:
        # Sign-in with an address never validated leads to /account/email (FAQ 7).
        signed = await sign_in(http, person)
        assert signed.status_code == 200, signed.text
        assert (
            signed.json()["email_validation_required"] is True
            and signed.json()["next"] == "/account/email"
        )
        entry = await http.get("/account/email")
        assert entry.status_code == 200 and entry.json()["email"] == person.email

        # Validated as it is: the email FAQ 9 describes goes to that address.
        before = len(mailbox.to(person.email))
        kept = await http.post(
            "/account/email", json={"email": person.email, "email_confirmation": person.email}
        )
        assert kept.status_code == 200, kept.text
        first = (await mailbox.wait_for(person.email, before + 1, timeout=30))[before]
        assert (
            first.subject == FIRST_VALIDATION_SUBJECT
            and "Administrateur des services en ligne" in first.sender
        )
        person.secrets.add(token_of(link_in(first)))
        done = await open_and_validate(http, link_in(first))
        assert done.status_code == 200 and "Adresse validée" in done.text, done.text
        assert (await sign_in(http, person)).json()["next"] == "/portal"

        # A change: the old address is told, the new one gets the link (FAQ 11).
        new = f"nouvelle.{uuid.uuid4().hex[:8]}@example.org"
        asked = await http.post("/account/email", json={"email": new, "email_confirmation": new})
        assert asked.status_code == 200, asked.text
        [validation] = await mailbox.wait_for(new, 1, timeout=30)
        assert validation.subject == NEW_ADDRESS_SUBJECT
        told = (await mailbox.wait_for(person.email, before + 2, timeout=30))[before + 1]
        assert told.subject == REQUESTED_SUBJECT and new in told.text
        pending = (await http.get("/account")).json()["pending_email_change"]
        assert pending["email"] == new and "Renvoyez un email de validation" in pending["message"]

        person.secrets.add(token_of(link_in(validation)))
        done = await open_and_validate(http, link_in(validation))
        assert done.status_code == 200 and "Adresse validée" in done.text, done.text
        changed = (await mailbox.wait_for(person.email, before + 3, timeout=30))[before + 2]
        assert changed.subject == CHANGED_SUBJECT and new in changed.text
        view = (await http.get("/account")).json()
        assert (
            view["email"] == new
            and view["email_verified"] is True
            and view["pending_email_change"] is None
        )
        person.email = new


async def test_password_change_ends_the_second_session(stack, person: Person, mailbox: Mailbox):
    new_password = "Koala2027mm"
    person.secrets.add(new_password)
    async with stack.http() as first, stack.http() as second:
        assert (await sign_in(first, person)).status_code == 200
        assert (await sign_in(second, person)).status_code == 200
        assert (await second.get("/account")).status_code == 200
        before = len(mailbox.to(person.email))

        changed = await first.post(
            "/account/password",
            json={
                "current_password": person.password,
                "new_password": new_password,
                "new_password_confirmation": new_password,
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["sessions_ended"] >= 1
        ended = await second.get("/account")
        assert ended.status_code == 401 and ended.json()["code"] == "session_required"
        assert (await first.get("/account")).status_code == 200

        notice = (await mailbox.wait_for(person.email, before + 1, timeout=30))[before]
        assert notice.subject == PASSWORD_SUBJECT
        assert (await sign_in(second, person)).status_code == 401
        person.password = new_password
        assert (await sign_in(second, person)).json()["status"] == "signed_in"


async def test_lost_identifier_by_email_and_by_sms(
    stack, person: Person, mailbox: Mailbox, sms_gateway
):
    outbox = SmsOutbox(sms_gateway.outbox_path)
    async with stack.http() as http:
        before = len(mailbox.to(person.email))
        by_email = await http.post("/recovery/identifier/email", json={"email": person.email})
        assert by_email.status_code == 202, by_email.text
        mail = (await mailbox.wait_for(person.email, before + 1, timeout=30))[before]
        assert mail.subject == "Votre identifiant EduConnect"
        assert re.search(
            rf"Votre identifiant EduConnect : {re.escape(person.identifier)}\b", mail.text
        )

        texts = len(outbox.to(person.mobile))
        by_sms = await http.post("/recovery/identifier/sms", json={"mobile": person.typed_mobile})
        assert by_sms.status_code == 202, by_sms.text
        sms = (await outbox.wait_for(person.mobile, texts + 1, timeout=30))[texts]
        assert f"votre identifiant est {person.identifier}" in sms["text"]


async def test_lost_password_by_email_and_by_sms(
    stack, person: Person, mailbox: Mailbox, sms_gateway
):
    outbox = SmsOutbox(sms_gateway.outbox_path)
    by_link, by_code = "Zebre2028nn", "Panda2029pp"
    person.secrets.update({by_link, by_code})
    async with stack.http() as http, stack.http() as other:
        assert (await sign_in(other, person)).status_code == 200

        # By email: a single-use link valid one hour, opened in the browser.
        before = len(mailbox.to(person.email))
        asked = await http.post(
            "/recovery/password/email",
            json={"identifier": person.identifier, "email": person.email},
        )
        assert asked.status_code == 202, asked.text
        mail = (await mailbox.wait_for(person.email, before + 1, timeout=30))[before]
        link = link_in(mail)
        person.secrets.add(token_of(link))
        form = await http.get(link)
        assert form.status_code == 200 and 'name="password"' in form.text
        done = await http.post(
            "/recovery/password/link",
            data={"jeton": token_of(link), "password": by_link, "password_confirmation": by_link},
        )
        assert done.status_code == 200 and "Mot de passe modifié" in done.text, done.text
        assert (await other.get("/account")).status_code == 401  # every session ended
        notice = (await mailbox.wait_for(person.email, before + 2, timeout=30))[before + 1]
        assert notice.subject == PASSWORD_SUBJECT
        assert (await sign_in(http, person, by_link)).json()["status"] == "signed_in"
        assert (await sign_in(other, person)).status_code == 401  # the old password is gone

        # By SMS: a 6-digit code to the verified number, then the new password.
        texts = len(outbox.to(person.mobile))
        http.cookies.clear()
        asked = await http.post(
            "/recovery/password/sms",
            json={"identifier": person.identifier, "mobile": person.typed_mobile},
        )
        assert asked.status_code == 202, asked.text
        reset_id = asked.json()["reset_id"]
        sms = (await outbox.wait_for(person.mobile, texts + 1, timeout=30))[texts]
        code = code_in(sms)
        person.secrets.add(code)
        checked = await http.post(f"/recovery/password/{reset_id}/code", json={"code": code})
        assert checked.status_code == 200 and checked.json()["step"] == "new_password", checked.text
        done = await http.post(
            f"/recovery/password/{reset_id}/new-password",
            json={"password": by_code, "password_confirmation": by_code},
        )
        assert done.status_code == 200 and done.json()["identifier"] == person.identifier, done.text
        assert "educonnect_session" not in done.headers.get("set-cookie", "")  # not signed in
        assert (await sign_in(http, person, by_link)).status_code == 401
        assert (await sign_in(http, person, by_code)).json()["status"] == "signed_in"
        person.password = by_code


async def test_no_secret_in_the_account_management_histories(stack, person: Person):
    """Passwords, codes, link tokens and hashes stay in PostgreSQL."""
    assert len(person.secrets) >= 8, "the end-to-end tests above must run first"
    hashes = [
        await stack.pool.fetchval(
            "SELECT password_hash FROM accounts WHERE identifier = $1", person.identifier
        )
    ]
    token_hashes = [
        r["token_hash"]
        for r in await stack.pool.fetch(
            "SELECT token_hash FROM email_links WHERE account_id = (SELECT id FROM accounts WHERE identifier = $1)",
            person.identifier,
        )
    ]
    seen = 0
    async for execution in stack.temporal.list_workflows():
        if not execution.id.startswith(PROCESS_PREFIXES):
            continue
        history = await stack.temporal.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
        seen += 1
        assert b"$argon2" not in raw, execution.id
        for secret in person.secrets:
            assert secret.encode() not in raw, f"a secret reached the history of {execution.id}"
        for password_hash in hashes:
            assert password_hash.encode() not in raw
        for digest in token_hashes:
            assert digest not in raw and digest.hex().encode() not in raw
    assert seen >= 6
