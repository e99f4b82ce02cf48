"""Account merge ("regroupement de comptes", FAQ 12-13) and "Je ne suis pas le
représentant légal de cet élève", through the real API on the time-skipping
server with the real activities."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from educonnect.models.corrections import StaffRole
from educonnect.models.merge import MergeInput, MergeStep
from educonnect.passwords import hash_password_async
from educonnect.staff import create_staff_account
from tests.support.accounts import ActiveAccount, make_active_account, sign_in
from tests.support.families import SCHOOL_UAI
from tests.support.mail import Mailbox
from tests.support.names import letters_tag
from workflows.account_merge import AccountMergeWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

OTHER_PASSWORD = "Provisoire7k"


async def other_account(
    pool, *, last_name: str, first_name: str, kind: str = "guardian", email: str | None = None
) -> tuple[uuid.UUID, str, list[str]]:
    """A second, still provisional account (school-issued credentials) with one
    child of its own; returns (account id, identifier, children's first names)."""
    tag = uuid.uuid4().hex[:8]
    pupil_id, account_id = uuid.uuid4(), uuid.uuid4()
    child = f"Enfant{letters_tag(5)}"
    await pool.execute(
        "INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level) "
        "VALUES ($1, $2, $3, $4, $5, '6B', '6e')",
        pupil_id, last_name, child, date(2014, 6, 1), SCHOOL_UAI,
    )  # fmt: skip
    identifier = f"x.autre{tag}"
    expires = datetime.now(UTC) + timedelta(days=92)
    hashed = await hash_password_async(OTHER_PASSWORD)
    if kind == "guardian":
        guardian_id = uuid.uuid4()
        await pool.execute(
            "INSERT INTO guardians (id, last_name, first_name, email) VALUES ($1, $2, $3, $4)",
            guardian_id, last_name, first_name, email,
        )  # fmt: skip
        await pool.execute(
            "INSERT INTO guardian_pupils (guardian_id, pupil_id) VALUES ($1, $2)",
            guardian_id,
            pupil_id,
        )
        await pool.execute(
            "INSERT INTO accounts (id, kind, identifier, guardian_id, state, provisional_password_hash, "
            "provisional_expires_at, email) VALUES ($1, 'guardian', $2, $3, 'provisioned', $4, $5, $6)",
            account_id, identifier, guardian_id, hashed, expires, email,
        )  # fmt: skip
    else:
        await pool.execute(
            "INSERT INTO accounts (id, kind, identifier, pupil_id, state, provisional_password_hash, "
            "provisional_expires_at) VALUES ($1, 'pupil', $2, $3, 'provisioned', $4, $5)",
            account_id, identifier, pupil_id, hashed, expires,
        )  # fmt: skip
    return account_id, identifier, [child]


async def kept_account(db_pool, api: httpx.AsyncClient) -> ActiveAccount:
    kept = await make_active_account(db_pool)
    signed = await sign_in(api, kept.identifier, kept.password)
    assert signed.status_code == 200 and signed.json()["status"] == "signed_in", signed.text
    return kept


async def portal_children(api: httpx.AsyncClient) -> list[str]:
    portal = await api.get("/portal")
    assert portal.status_code == 200, portal.text
    return sorted(c["first_name"] for c in portal.json()["children"])


async def test_merge_moves_the_children_closes_the_other_and_tells_both(
    api, db_pool, mailbox: Mailbox, time_skipping_env, workflow_worker
):
    kept = await kept_account(db_pool, api)
    last = kept.identifier.split(".", 1)[1]  # make_family's last name, lower-case
    other_email = f"autre.{uuid.uuid4().hex[:8]}@example.fr"
    # The same person, spelt otherwise by the other school (case, accents).
    other_id, other_identifier, other_children = await other_account(
        db_pool, last_name=last.upper(), first_name="CAMILLÉ".replace("É", "E"), email=other_email
    )
    before = await portal_children(api)
    merged = await api.post(
        "/account/merge", json={"identifier": other_identifier, "password": OTHER_PASSWORD}
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["step"] == "merged" and body["children_moved"] == 1
    assert kept.identifier in body["message"] and other_identifier in body["message"]
    assert await portal_children(api) == sorted(before + other_children)

    # The other account is closed; signing in with it names the identifier to use.
    api_cookies = dict(api.cookies)
    refused = await sign_in(api, other_identifier, OTHER_PASSWORD)
    assert refused.status_code == 403 and refused.json()["code"] == "account_merged"
    assert kept.identifier in refused.json()["message"]
    assert refused.json()["details"] == [{"identifier": kept.identifier}]
    api.cookies.update(api_cookies)

    [to_kept] = await mailbox.wait_for(kept.email, 1)
    [to_other] = await mailbox.wait_for(other_email, 1)
    assert to_kept.subject == to_other.subject == "Regroupement de vos comptes EduConnect"
    assert other_children[0] in to_kept.text and kept.identifier in to_other.text
    audit = await db_pool.fetch(
        "SELECT outcome, details->>'children_moved' AS moved FROM audit_log WHERE action = 'account.merge' "
        "AND target_id = $1",
        str(other_id),
    )
    assert [(a["outcome"], a["moved"]) for a in audit] == [("accepted", "1")]

    # Running the same request again changes nothing more, sends nothing more.
    merge_id = await db_pool.fetchval(
        "SELECT id FROM account_merges WHERE other_account_id = $1", other_id
    )
    again = await time_skipping_env.client.execute_workflow(
        AccountMergeWorkflow.run,
        MergeInput(merge_id=merge_id, kept_account_id=kept.account_id, other_account_id=other_id),
        id=workflow_id(kept.account_id),
        task_queue=workflow_worker,
    )
    assert again.step == MergeStep.MERGED and again.children_moved == 0
    assert len(mailbox.to(kept.email)) == 1 and len(mailbox.to(other_email)) == 1
    assert await portal_children(api) == sorted(before + other_children)
    assert await db_pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'account.merge' AND target_id = $1",
                                  str(other_id)) == 1  # fmt: skip
    # And asking again through the API: that account is merged already.
    twice = await api.post(
        "/account/merge", json={"identifier": other_identifier, "password": OTHER_PASSWORD}
    )
    assert twice.status_code == 409 and twice.json()["code"] == "merge_already_merged"


async def test_merge_refusals(api, db_pool, mailbox: Mailbox):
    kept = await kept_account(db_pool, api)
    last = kept.identifier.split(".", 1)[1]
    before = await portal_children(api)

    stranger_id, stranger, _ = await other_account(db_pool, last_name=last, first_name="Dominique")
    refused = await api.post(
        "/account/merge", json={"identifier": stranger, "password": OTHER_PASSWORD}
    )
    assert refused.status_code == 422 and refused.json()["code"] == "merge_not_same_person"
    assert "même personne" in refused.json()["message"]
    assert (
        await db_pool.fetchval("SELECT state FROM accounts WHERE id = $1", stranger_id)
        == "provisioned"
    )
    assert (
        await db_pool.fetchval(
            "SELECT outcome FROM audit_log WHERE action = 'account.merge' AND target_id = $1",
            str(stranger_id),
        )
        == "refused"
    )

    same = await api.post(
        "/account/merge", json={"identifier": kept.identifier, "password": kept.password}
    )
    assert same.status_code == 422 and same.json()["code"] == "merge_same_account"

    _, pupil, _ = await other_account(db_pool, last_name=last, first_name="Camille", kind="pupil")
    pupil_refused = await api.post(
        "/account/merge", json={"identifier": pupil, "password": OTHER_PASSWORD}
    )
    assert (
        pupil_refused.status_code == 422 and pupil_refused.json()["code"] == "merge_pupil_account"
    )

    # Wrong credentials count against the other account's sign-in limits.
    _, twin, _ = await other_account(db_pool, last_name=last, first_name="Camille")
    wrong = await api.post("/account/merge", json={"identifier": twin, "password": "Mauvais123"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    assert (
        await db_pool.fetchval("SELECT failures FROM sign_in_failures WHERE identifier = $1", twin)
        == 1
    )
    assert await portal_children(api) == before

    # A sign-in older than 15 minutes: sign in again first.
    await db_pool.execute(
        "UPDATE sessions SET created_at = now() - interval '16 minutes' WHERE account_id = $1",
        kept.account_id,
    )
    stale = await api.post("/account/merge", json={"identifier": twin, "password": OTHER_PASSWORD})
    assert stale.status_code == 401 and stale.json()["code"] == "recent_sign_in_required"
    assert mailbox.to(kept.email) == []


async def test_not_my_child_hides_it_until_the_school_decides(api, db_pool):
    kept = await kept_account(db_pool, api)
    children = (await api.get("/portal")).json()["children"]
    wrong = children[0]
    flagged = await api.post(f"/account/children/{wrong['pupil_id']}/not-my-child")
    assert flagged.status_code == 202, flagged.text
    assert "n'apparaît plus" in flagged.json()["message"]
    assert wrong["first_name"] not in await portal_children(api)
    again = await api.post(f"/account/children/{wrong['pupil_id']}/not-my-child")
    assert again.json()["dispute_id"] == flagged.json()["dispute_id"]
    unknown = await api.post(f"/account/children/{uuid.uuid4()}/not-my-child")
    assert unknown.status_code == 404 and unknown.json()["code"] == "child_not_attached"

    # The school's staff see it in their queue, then decide.
    uai = wrong["school"]["uai"]
    login, password = (
        f"ce.{uuid.uuid4().hex[:8]}@ac-test.example.fr",
        f"Essai-{uuid.uuid4().hex[:6]}-Fort!9",
    )
    academie = await db_pool.fetchval("SELECT academie FROM schools WHERE uai = $1", uai)
    await create_staff_account(db_pool, login=login, email=login, display_name="Agent", role=StaffRole.SCHOOL_ADMIN,
                               password=password, uai=uai, academie=academie)  # fmt: skip
    family_cookies = dict(api.cookies)
    api.cookies.clear()
    assert (
        await api.post("/staff/sign-in", json={"login": login, "password": password})
    ).status_code == 200
    queue = (await api.get("/staff/attachment-disputes")).json()
    [mine] = [d for d in queue if d["dispute_id"] == flagged.json()["dispute_id"]]
    assert mine["status"] == "awaiting_review" and mine["account_identifier"] == kept.identifier
    confirmed = await api.post(f"/staff/attachment-disputes/{mine['dispute_id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "link_confirmed"
    closed = await api.post(f"/staff/attachment-disputes/{mine['dispute_id']}/detach")
    assert closed.status_code == 409 and closed.json()["code"] == "dispute_closed"

    staff_cookies = dict(api.cookies)
    api.cookies.clear()
    api.cookies.update(family_cookies)
    assert wrong["first_name"] in await portal_children(api)  # the link was right: back
    second = await api.post(f"/account/children/{wrong['pupil_id']}/not-my-child")
    assert second.json()["dispute_id"] != flagged.json()["dispute_id"]
    api.cookies.update(staff_cookies)
    detached = await api.post(f"/staff/attachment-disputes/{second.json()['dispute_id']}/detach")
    assert detached.status_code == 200 and detached.json()["status"] == "detached"
    api.cookies.clear()
    api.cookies.update(family_cookies)
    assert wrong["first_name"] not in await portal_children(api)
    assert not await db_pool.fetchval(
        "SELECT count(*) FROM guardian_pupils WHERE pupil_id = $1 AND guardian_id = $2",
        uuid.UUID(wrong["pupil_id"]), kept.family.guardian_id,
    )  # fmt: skip
