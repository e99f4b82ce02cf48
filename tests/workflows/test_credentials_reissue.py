"""New provisional credentials issued by staff (DESIGN §2), through the real
API on the time-skipping server with the real activities (PostgreSQL, SMTP):
a secretary finds the family, issues new credentials by email or as a letter,
the old ones stop working, the new ones start an activation; scope, refusals,
idempotency, no secret in Temporal."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pypdf import PdfReader

from activities.reissue import ReissueActivities
from educonnect.models.corrections import StaffRole
from educonnect.models.reissue import ReissueRef
from tests.support.corrections import (
    NEW_PASSWORD,
    School,
    family_at,
    make_school,
    make_staff,
    signed_in_staff,
)
from tests.support.mail import (
    NOTIFICATION_SUBJECT,
    Mailbox,
    link_in,
    provisional_credentials,
    token_of,
)
from tests.support.names import letters_tag
from tests.support.pupils import make_active, make_pupil
from workflows.activation import workflow_id as activation_id
from workflows.credentials_reissue import workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def sign_in(http: httpx.AsyncClient, identifier: str, password: str) -> httpx.Response:
    http.cookies.clear()
    return await http.post("/sign-in", json={"identifier": identifier, "password": password})


async def reissue(http: httpx.AsyncClient, account_id, canal: str = "auto") -> httpx.Response:
    return await http.post(
        f"/staff/accounts/{account_id}/provisional-credentials", json={"canal": canal}
    )


async def test_expired_credentials_a_secretary_sends_new_ones_by_email(
    api, make_client, db_pool, mailbox: Mailbox, time_skipping_env
):
    school = await make_school(db_pool)
    secretary = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    family = await family_at(db_pool, school)
    await db_pool.execute(
        "UPDATE accounts SET provisional_expires_at = now() - interval '1 day' WHERE id = $1",
        family.account_id,
    )
    async with make_client() as parent:
        expired = await sign_in(parent, family.identifier, family.provisional_password)
        assert expired.status_code == 401 and expired.json()["code"] == "credentials_expired"
        assert "l'établissement de votre enfant" in expired.json()["message"]

    async with signed_in_staff(make_client, secretary) as desk:
        last_name = await db_pool.fetchval(
            "SELECT last_name FROM guardians WHERE id = $1", family.guardian_id
        )
        found = await desk.get("/staff/accounts", params={"nom": last_name.lower()})
        assert found.status_code == 200, found.text
        guardian = found.json()[0]["guardians"][0]
        assert (
            guardian["account"]["identifier"] == family.identifier
            and guardian["account"]["can_reissue"]
        )

        issued = await reissue(desk, guardian["account"]["account_id"])
        assert issued.status_code == 201, issued.text
        assert issued.json()["channel"] == "email" and issued.json()["step"] == "done"
        assert family.email in issued.json()["message"]

    [message] = [
        m for m in await mailbox.wait_for(family.email, 1) if m.subject == NOTIFICATION_SUBJECT
    ]
    identifier, password = provisional_credentials(message.text)
    assert identifier == family.identifier and password != family.provisional_password
    assert (
        "nouveaux identifiants provisoires" in message.text
        and "vous a créé un compte" not in message.text
    )
    async with make_client() as parent:
        old = await sign_in(parent, family.identifier, family.provisional_password)
        assert old.status_code == 401
        new = await sign_in(parent, identifier, password)
        assert new.status_code == 200 and new.json()["status"] == "activation_required", new.text

    # Nothing secret in the reissue's history; the decision is audited.
    history = await time_skipping_env.client.get_workflow_handle(
        workflow_id(issued.json()["reissue_id"])
    ).fetch_history()
    raw = history.to_json()
    assert password not in raw and "$argon2" not in raw
    action = await db_pool.fetchval(
        "SELECT action FROM audit_log WHERE target_id = $1 AND actor_id = $2 ORDER BY id DESC LIMIT 1",
        str(family.account_id),
        secretary.id,
    )
    assert action == "account.credentials_reissue"


async def test_a_pupil_with_expired_credentials_is_sent_to_their_own_school(
    api, make_client, db_pool
):
    pupil = await make_pupil(db_pool)
    await db_pool.execute(
        "UPDATE accounts SET provisional_expires_at = now() - interval '1 day' WHERE id = $1",
        pupil.account_id,
    )
    async with make_client() as own:
        expired = await sign_in(own, pupil.identifier, pupil.provisional_password)
    assert expired.status_code == 401 and expired.json()["code"] == "credentials_expired"
    assert (
        "votre établissement" in expired.json()["message"]
        and "enfant" not in expired.json()["message"]
    )


async def test_letter_for_a_pupil_who_forgot_the_password_and_has_no_email(
    api, make_client, db_pool
):
    pupil = await make_pupil(db_pool)
    await make_active(db_pool, pupil.account_id, email_verified=False)
    academie = await db_pool.fetchval("SELECT academie FROM schools WHERE uai = $1", pupil.uai)
    secretary = await make_staff(
        db_pool, StaffRole.SCHOOL_ADMIN, School(pupil.uai, academie, "Collège Test")
    )
    async with make_client() as own:  # the pupil is signed in somewhere
        assert (await sign_in(own, pupil.identifier, pupil.provisional_password)).json()[
            "status"
        ] == "signed_in"

        async with signed_in_staff(make_client, secretary) as desk:
            issued = await reissue(desk, pupil.account_id)
            assert issued.status_code == 201, issued.text
            live = "SELECT count(*) FROM sessions WHERE account_id = $1 AND revoked_at IS NULL"
            assert await db_pool.fetchval(live, pupil.account_id) == 0  # the pupil's session ended
            body = issued.json()
            assert body["channel"] == "letter" and body["letter_url"]
            letter = await desk.get(body["letter_url"])
            assert letter.status_code == 200 and letter.headers["content-type"] == "application/pdf"

        # Another school's secretary: the letter and its status answer like unknown ones, and that is audited.
        outsider = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, await make_school(db_pool))
        async with signed_in_staff(make_client, outsider) as desk:
            unknown = await desk.get(f"/staff/credential-reissues/{uuid.uuid4()}/letter.pdf")
            assert unknown.status_code == 404 and unknown.json()["code"] == "reissue_not_found"
            for url in (body["letter_url"], f"/staff/credential-reissues/{body['reissue_id']}"):
                hidden = await desk.get(url)
                assert hidden.status_code == 404 and hidden.json() == unknown.json()
        refusals = await db_pool.fetch(
            "SELECT action, details->>'code' AS code FROM audit_log WHERE actor_id = $1 AND outcome = 'refused' "
            "AND target_id = $2 ORDER BY id",
            outsider.id, body["reissue_id"],
        )  # fmt: skip
        assert [(r["action"], r["code"]) for r in refusals] == [
            ("account.credentials_letter_download", "staff_out_of_scope"),
            ("account.credentials_reissue_status", "staff_out_of_scope"),
        ]

        text = PdfReader(io.BytesIO(letter.content)).pages[0].extract_text()
        identifier, password = provisional_credentials(text)
        assert identifier == pupil.identifier
        assert "te remet de nouveaux identifiants" in " ".join(text.split())
        # The old session ended; the account is back to provisioned; the new credentials activate it again.
        assert (await own.get("/portal")).status_code == 401
        assert (
            await db_pool.fetchval("SELECT state FROM accounts WHERE id = $1", pupil.account_id)
            == "provisioned"
        )
        again = await sign_in(own, identifier, password)
        assert again.status_code == 200 and again.json()["status"] == "activation_required", (
            again.text
        )


async def test_an_activation_started_with_the_old_credentials_ends(
    api, make_client, db_pool, mailbox: Mailbox, time_skipping_env
):
    school = await make_school(db_pool)
    secretary = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    family = await family_at(db_pool, school)
    birthdate = await db_pool.fetchval(
        "SELECT p.birthdate FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id WHERE gp.guardian_id = $1 LIMIT 1",
        family.guardian_id,
    )
    async with make_client() as parent:
        assert (
            await sign_in(parent, family.identifier, family.provisional_password)
        ).status_code == 200
        profile = {"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD, "email": family.email,
                   "child_birthdate": birthdate.isoformat()}  # fmt: skip
        assert (await parent.post("/activation/profile", json=profile)).status_code == 200
        [confirmation] = await mailbox.wait_for(family.email, 1)
        old_link = link_in(confirmation)

        async with signed_in_staff(make_client, secretary) as desk:
            issued = await reissue(desk, family.account_id, canal="courrier")
            assert issued.status_code == 201 and issued.json()["channel"] == "letter", issued.text

        # The activation was cancelled; its link and the password it parked no longer work.
        activation = time_skipping_env.client.get_workflow_handle(activation_id(family.account_id))
        for _ in range(50):
            state = (await activation.describe()).status.name
            if state != "RUNNING":
                break
            await asyncio.sleep(0.1)
        assert state == "CANCELED"
        clicked = await parent.post("/activation/confirmation", data={"jeton": token_of(old_link)})
        assert clicked.status_code == 410 and "Compte activé" not in clicked.text
        assert (await sign_in(parent, family.identifier, NEW_PASSWORD)).status_code == 401
        assert (
            await db_pool.fetchval(
                "SELECT count(*) FROM pending_passwords WHERE account_id = $1", family.account_id
            )
            == 0
        )


async def test_refusals_scope_and_self_recovery(api, make_client, db_pool):
    school, other_school = await make_school(db_pool), await make_school(db_pool)
    secretary = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    elsewhere = await family_at(db_pool, other_school)
    active = await family_at(db_pool, school)
    await make_active(db_pool, active.account_id, email_verified=True)

    async with signed_in_staff(make_client, secretary) as desk:
        # Another school's family: answered like an unknown account, and audited.
        for account_id in (elsewhere.account_id, uuid.uuid4()):
            refused = await reissue(desk, account_id)
            assert (
                refused.status_code == 404 and refused.json()["code"] == "staff_account_not_found"
            )
        last_name = await db_pool.fetchval(
            "SELECT last_name FROM guardians WHERE id = $1", elsewhere.guardian_id
        )
        assert (await desk.get("/staff/accounts", params={"nom": last_name})).json() == []
        # An active account with a confirmed email: its owner recovers it alone.
        refused = await reissue(desk, active.account_id)
        assert refused.status_code == 409 and refused.json()["code"] == "reissue_self_recovery"
        assert "Mot de passe oublié" in refused.json()["message"]
        found = (await desk.get("/staff/accounts", params={"nom": "lea"})).json()
        mine = [
            p
            for p in found
            if p["guardians"] and p["guardians"][0]["account"]["identifier"] == active.identifier
        ]
        assert mine and mine[0]["guardians"][0]["account"]["can_reissue"] is False
        assert (await desk.get("/staff/accounts", params={"nom": "é"})).json()[
            "code"
        ] == "invalid_input"
    refusals = await db_pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE actor_id = $1 AND outcome = 'refused'", secretary.id
    )
    assert refusals == 3

    # Académie support covers every school of the académie.
    async with signed_in_staff(make_client, support) as desk:
        other = await make_school(db_pool, academie=school.academie)
        there = await family_at(db_pool, other)
        assert (await reissue(desk, there.account_id)).status_code == 201


async def test_the_activity_run_twice_issues_once(api, db_pool, mailbox: Mailbox):
    school = await make_school(db_pool)
    secretary = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    family = await family_at(db_pool, school)
    reissue_id = uuid.uuid4()
    await db_pool.execute(
        "INSERT INTO credential_reissues (id, account_id, uai, staff_id, staff_label, wanted_channel) "
        "VALUES ($1, $2, $3, $4, 'Secrétariat', 'auto')",
        reissue_id, family.account_id, school.uai, secretary.id,
    )  # fmt: skip
    activities = ReissueActivities(db_pool)
    first = await activities.issue_credentials(ReissueRef(reissue_id=reissue_id))
    hash_after_first = await db_pool.fetchval(
        "SELECT provisional_password_hash FROM accounts WHERE id = $1", family.account_id
    )
    second = await activities.issue_credentials(ReissueRef(reissue_id=reissue_id))
    assert first.channel == second.channel == "email"
    assert (
        await db_pool.fetchval(
            "SELECT provisional_password_hash FROM accounts WHERE id = $1", family.account_id
        )
        == hash_after_first
    )
    assert len(await mailbox.wait_for(family.email, 1)) == 1
    expires = await db_pool.fetchval(
        "SELECT provisional_expires_at FROM accounts WHERE id = $1", family.account_id
    )
    assert expires - datetime.now(UTC) > timedelta(days=89)


async def guardian_without_account(pool, school, *, email: str | None) -> tuple[uuid.UUID, str]:
    """A guardian of the school records (one child at `school`) with no account."""
    guardian_id, pupil_id = uuid.uuid4(), uuid.uuid4()
    last_name = f"Sanscompte{letters_tag()}"
    await pool.execute(
        "INSERT INTO guardians (id, last_name, first_name, email) VALUES ($1, $2, 'Dominique', $3)",
        guardian_id, last_name, email,
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level) "
        "VALUES ($1, $2, 'Noé', '2015-03-09', $3, '6B', '6e')",
        pupil_id, last_name, school.uai,
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO guardian_pupils (guardian_id, pupil_id) VALUES ($1, $2)", guardian_id, pupil_id
    )
    return guardian_id, last_name


async def test_a_guardian_without_an_account_gets_one_from_the_school(
    api, make_client, db_pool, mailbox: Mailbox
):
    school = await make_school(db_pool)
    secretary = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    email = f"dominique.{uuid.uuid4().hex[:8]}@example.fr"
    with_email, last_name = await guardian_without_account(db_pool, school, email=email)
    without_email, _ = await guardian_without_account(db_pool, school, email=None)

    async with signed_in_staff(make_client, secretary) as desk:
        [pupil] = (await desk.get("/staff/accounts", params={"nom": last_name})).json()
        [guardian] = pupil["guardians"]
        assert guardian["account"] is None and guardian["can_create_account"] is True

        created = await desk.post(f"/staff/guardians/{with_email}/account", json={"canal": "auto"})
        assert created.status_code == 201, created.text
        assert created.json()["created"] is True and created.json()["channel"] == "email"
        assert created.json()["message"].startswith("Le compte est créé")
        again = await desk.post(f"/staff/guardians/{with_email}/account", json={})
        assert again.status_code == 409 and again.json()["code"] == "staff_account_exists"

        lettered = await desk.post(f"/staff/guardians/{without_email}/account", json={})
        assert lettered.status_code == 201 and lettered.json()["channel"] == "letter", lettered.text
        assert (await desk.get(lettered.json()["letter_url"])).status_code == 200

        [pupil] = (await desk.get("/staff/accounts", params={"nom": last_name})).json()
        assert pupil["guardians"][0]["account"]["state"] == "provisioned"
        assert pupil["guardians"][0]["can_create_account"] is False

    [message] = await mailbox.wait_for(email, 1)
    assert message.subject == NOTIFICATION_SUBJECT and "vous a créé un compte" in message.text
    identifier, password = provisional_credentials(message.text)
    async with make_client() as parent:
        signed = await sign_in(parent, identifier, password)
        assert signed.status_code == 200 and signed.json()["status"] == "activation_required", (
            signed.text
        )


async def test_creating_an_account_is_refused_out_of_scope(api, make_client, db_pool):
    school, other_school = await make_school(db_pool), await make_school(db_pool)
    secretary = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    elsewhere, _ = await guardian_without_account(db_pool, other_school, email=None)
    async with signed_in_staff(make_client, secretary) as desk:
        for guardian_id in (elsewhere, uuid.uuid4()):
            refused = await desk.post(f"/staff/guardians/{guardian_id}/account", json={})
            assert (
                refused.status_code == 404 and refused.json()["code"] == "staff_guardian_not_found"
            )
    assert (
        await db_pool.fetchval("SELECT count(*) FROM accounts WHERE guardian_id = $1", elsewhere)
        == 0
    )
