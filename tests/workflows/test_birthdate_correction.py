"""Birthdate correction awaiting staff approval, on the time-skipping server,
with the real activities (PostgreSQL, SMTP, SMS gateway) and the real API in
process: reminders, escalation and closure over days; approval resuming the
blocked activation; rejection; request for information; duplicates; scope."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import date, timedelta

import httpx
import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError

from educonnect.models.activation import ActivationStep
from educonnect.models.corrections import (
    DECISION_REJECTED,
    CorrectionStep,
    DecisionAnswer,
    DecisionKind,
    DecisionMade,
    DecisionScope,
    StaffDecision,
    StaffRef,
    StaffRole,
)
from educonnect.passwords import hash_password_async
from educonnect.search_attributes import PROCESS_STEP, SCHOOL_UAI
from tests.support.corrections import (
    NEW_PASSWORD,
    WRONG_BIRTHDATE,
    block_activation,
    children_of,
    family_at,
    file_request,
    make_school,
    make_staff,
    signed_in_staff,
)
from tests.support.families import Family
from tests.support.histories import record_history, timeline_summaries
from tests.support.mail import Mailbox, link_in, token_of
from tests.support.names import letters_tag
from tests.support.sms import SmsOutbox
from workflows.activation import ActivationWorkflow
from workflows.activation import workflow_id as activation_id
from workflows.birthdate_correction import (
    CLOSE_SUMMARY,
    DECISION_UPDATE,
    ESCALATION_SUMMARY,
    REMINDER_SUMMARY,
    BirthdateCorrectionWorkflow,
    workflow_id,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def scene(db_pool):
    """A school of its own with its administrator, its académie support, and a family."""
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    family = await family_at(db_pool, school)
    lea = (await children_of(db_pool, family))[0]
    return school, admin, support, family, lea


def correction(env, request_id):
    return env.client.get_workflow_handle_for(
        BirthdateCorrectionWorkflow.run, workflow_id(request_id)
    )


def activation(env, family: Family):
    return env.client.get_workflow_handle_for(
        ActivationWorkflow.run, activation_id(family.account_id)
    )


async def step_attribute(handle) -> str:
    return (await handle.describe()).typed_search_attributes.get(PROCESS_STEP)


async def wait_for_step(handle, step: CorrectionStep, timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await handle.query(BirthdateCorrectionWorkflow.status)).step != step:
        assert loop.time() < deadline, f"request never reached {step}"
        await asyncio.sleep(0.05)


async def click(api: httpx.AsyncClient, link: str) -> httpx.Response:
    return await api.post("/activation/confirmation", data={"jeton": token_of(link)})


async def audit_of(db_pool, request_id, pupil_id) -> list:
    return await db_pool.fetch(
        "SELECT * FROM audit_log WHERE (target_kind = 'correction_request' AND target_id = $1) "
        "OR (target_kind = 'pupil' AND target_id = $2) ORDER BY id",
        str(request_id),
        str(pupil_id),
    )


async def file_blocked_request(api, family, lea, mailbox, admin, **extra) -> str:
    await block_activation(api, family)
    filed = await file_request(api, lea["id"], WRONG_BIRTHDATE, **extra)
    assert filed.status_code == 201, filed.text
    assert filed.json()["joined"] is False and filed.json()["status"] == "awaiting_review"
    [new] = await mailbox.wait_for(admin.email, 1)
    assert new.subject.startswith("Nouvelle demande de correction")
    return filed.json()["request_id"]


async def test_staff_reminded_after_two_days_then_escalated_after_five(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene, make_client
):
    school, admin, support, family, lea = scene
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    [ack] = await mailbox.wait_for(family.email, 1)
    assert "bien reçue" in ack.subject
    handle = correction(time_skipping_env, request_id)
    assert await step_attribute(handle) == "awaiting_review"
    assert (await handle.describe()).typed_search_attributes.get(SCHOOL_UAI) == [school.uai]

    await time_skipping_env.sleep(timedelta(days=1, hours=23))
    assert len(await mailbox.wait_for(admin.email, 2, timeout=1)) == 1, "reminder before 2 days"

    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
    _, reminder = await mailbox.wait_for(admin.email, 2)
    assert reminder.subject.startswith("Rappel") and "2 jours" in reminder.text
    assert mailbox.to(support.email) == []  # the school decides first
    status = await handle.query(BirthdateCorrectionWorkflow.status)
    assert status.step == CorrectionStep.AWAITING_REVIEW and status.reminded

    await time_skipping_env.sleep(
        timedelta(days=2, hours=22, minutes=58)
    )  # 4 d 22 h 59 min after filing
    assert await step_attribute(handle) == "awaiting_review"
    assert mailbox.to(support.email) == []

    await time_skipping_env.sleep(timedelta(hours=1, minutes=2))
    [escalation] = await mailbox.wait_for(support.email, 1)
    assert "transmise à l'assistance académique" in escalation.subject
    await wait_for_step(handle, CorrectionStep.ESCALATED)
    assert await step_attribute(handle) == "escalated"
    row = await db_pool.fetchrow(
        "SELECT status, escalated FROM correction_requests WHERE id = $1", uuid.UUID(request_id)
    )
    assert row["status"] == "escalated" and row["escalated"]
    assert (
        len(await mailbox.wait_for(admin.email, 3)) == 3
    )  # the school is told too; one reminder only
    kinds = [e.kind for e in (await handle.query(BirthdateCorrectionWorkflow.status)).timeline]
    assert kinds == ["filed", "reminder_sent", "escalated"]

    # Académie support finds it at the head of its queue, waiting on staff.
    async with signed_in_staff(make_client, support) as http:
        queue = (await http.get("/staff/requests")).json()
        assert queue[0]["request_id"] == request_id and queue[0]["status"] == "escalated"
        assert queue[0]["waiting_on_staff"]

    # The Web UI's timeline reads as the process: French summaries, encrypted.
    activities, timers = await timeline_summaries(time_skipping_env.client, handle)
    assert activities[:2] == [
        "Avis au demandeur : demande reçue",
        "Avis au personnel : nouvelle demande",
    ]
    assert "Rappel au personnel : demande sans décision" in activities
    assert (
        "Étape enregistrée : Transmise à l'assistance académique (sans décision après 5 jours)"
        in activities
    )
    assert "Avis à l'assistance académique : demande transmise" in activities
    assert timers[:2] == [REMINDER_SUMMARY, ESCALATION_SUMMARY]
    assert timers[-1] == CLOSE_SUMMARY
    assert CLOSE_SUMMARY == "Clôture sans décision à J+30"
    await handle.terminate("test done")


async def test_closed_after_thirty_days_and_the_person_told(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene
):
    school, admin, support, family, lea = scene
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    handle = correction(time_skipping_env, request_id)

    await time_skipping_env.sleep(timedelta(days=29, hours=23))
    assert await step_attribute(handle) == "escalated"
    await mailbox.wait_for(support.email, 1)
    assert len(await mailbox.wait_for(family.email, 2, timeout=1)) == 1  # the acknowledgement only

    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
    _, closed = await mailbox.wait_for(family.email, 2)
    assert "clôturée" in closed.subject and "30 jours" in closed.text
    result = await handle.result()
    assert result.step == CorrectionStep.EXPIRED
    assert await step_attribute(handle) == "expired"
    row = await db_pool.fetchrow(
        "SELECT status, closed_at FROM correction_requests WHERE id = $1", uuid.UUID(request_id)
    )
    assert row["status"] == "expired" and row["closed_at"] is not None
    assert (await activation(time_skipping_env, family).query(ActivationWorkflow.status)).step == (
        ActivationStep.BIRTHDATE_BLOCKED
    )
    assert [(e["action"], e["actor_kind"]) for e in await audit_of(db_pool, request_id, lea["id"])][
        -1
    ] == (
        "correction.expired",
        "system",
    )
    # Closed: a new request for the child may be filed.
    again = await file_request(api, lea["id"], WRONG_BIRTHDATE)
    assert (
        again.status_code == 201
        and again.json()["request_id"] != request_id
        and not again.json()["joined"]
    )
    await correction(time_skipping_env, again.json()["request_id"]).terminate("test done")


async def test_approval_resumes_the_blocked_activation_which_then_completes(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene, make_client
):
    school, admin, support, family, lea = scene
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    await time_skipping_env.sleep(timedelta(days=1))

    async with signed_in_staff(make_client, admin) as http:
        decided = await http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
        assert decided.status_code == 200, decided.text
        body = decided.json()
        assert (
            body["status"] == "approved"
            and body["pupil"]["birthdate_on_record"] == WRONG_BIRTHDATE.isoformat()
        )
        assert body["previous_birthdate"] == lea["birthdate"].isoformat()
        assert [e["outcome"] for e in body["process"]["timeline"] if e["kind"] == "decision"] == [
            "applied"
        ]
        again = await http.post(
            f"/staff/requests/{request_id}/approve", json={"corrected_birthdate": "2013-05-05"}
        )
        assert again.status_code == 409 and again.json()["code"] == "correction_closed"

    handle = correction(time_skipping_env, request_id)
    assert (await handle.result()).step == CorrectionStep.APPROVED
    assert await step_attribute(handle) == "approved"
    assert (
        await db_pool.fetchval("SELECT birthdate FROM pupils WHERE id = $1", lea["id"])
        == WRONG_BIRTHDATE
    )

    # The audit log: the decision and the record's change, each with its author.
    entries = await audit_of(db_pool, request_id, lea["id"])
    decision = next(
        e for e in entries if e["action"] == "correction.approve" and e["outcome"] == "accepted"
    )
    corrected = next(e for e in entries if e["action"] == "pupil.birthdate_corrected")
    assert decision["actor_id"] == admin.id == corrected["actor_id"]
    assert f'"old_birthdate": "{lea["birthdate"].isoformat()}"' in corrected["details"]
    assert f'"new_birthdate": "{WRONG_BIRTHDATE.isoformat()}"' in corrected["details"]
    refused_again = [
        e for e in entries if e["action"] == "correction.approve" and e["outcome"] == "refused"
    ]
    assert len(refused_again) == 1

    # The person is told, and the activation starts its birthdate step afresh.
    _, told = await mailbox.wait_for(family.email, 2)
    assert (
        "date de naissance corrigée" in told.subject
        and WRONG_BIRTHDATE.strftime("%d/%m/%Y") in told.text
    )
    view = (await api.get(f"/assistance/requests/{request_id}")).json()
    assert (
        view["status"] == "approved" and view["corrected_birthdate"] == WRONG_BIRTHDATE.isoformat()
    )
    status = (await api.get("/activation")).json()
    assert (
        status["step"] == "profile"
        and status["attempts_left"] == 3
        and status["assistance_url"] is None
    )
    submitted = await api.post(
        "/activation/profile",
        json={
            "password": NEW_PASSWORD,
            "password_confirmation": NEW_PASSWORD,
            "email": family.email,
            "child_birthdate": WRONG_BIRTHDATE.isoformat(),
        },
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["step"] == "awaiting_confirmation"
    messages = await mailbox.wait_for(family.email, 3)
    done = await click(api, link_in(messages[2]))
    assert done.status_code == 200 and "Compte activé" in done.text
    assert (
        await db_pool.fetchval("SELECT state FROM accounts WHERE id = $1", family.account_id)
        == "active"
    )
    assert (await activation(time_skipping_env, family).result()).step == ActivationStep.ACTIVE


async def test_rejection_leaves_the_activation_blocked_with_the_reason(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene, make_client
):
    school, admin, support, family, lea = scene
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    reason = "L'acte de naissance fourni à l'inscription confirme la date enregistrée."

    # Académie support may decide for any school of its académie.
    async with signed_in_staff(make_client, support) as http:
        empty = await http.post(f"/staff/requests/{request_id}/reject", json={"reason": "   "})
        assert empty.status_code == 422 and empty.json()["code"] == "invalid_input"
        decided = await http.post(f"/staff/requests/{request_id}/reject", json={"reason": reason})
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "rejected"

    handle = correction(time_skipping_env, request_id)
    assert (await handle.result()).step == CorrectionStep.REJECTED
    assert await step_attribute(handle) == "rejected"
    _, told = await mailbox.wait_for(family.email, 2)
    assert "refusée" in told.subject and reason in told.text
    view = (await api.get(f"/assistance/requests/{request_id}")).json()
    assert view["status"] == "rejected" and view["reason"] == reason
    assert (
        await db_pool.fetchval("SELECT birthdate FROM pupils WHERE id = $1", lea["id"])
        == lea["birthdate"]
    )

    status = (await api.get("/activation")).json()
    assert (
        status["step"] == "birthdate_blocked"
        and status["assistance_url"] == "/assistance/date-de-naissance"
    )
    still = await api.post(
        "/activation/profile",
        json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD, "email": family.email,
              "child_birthdate": lea["birthdate"].isoformat()},
    )  # fmt: skip
    assert still.status_code == 423 and still.json()["code"] == "birthdate_blocked"
    entries = await audit_of(db_pool, request_id, lea["id"])
    assert {
        (e["action"], e["actor_id"]) for e in entries if e["action"].startswith("correction.reject")
    } == {
        ("correction.reject", support.id),
        ("correction.rejected", support.id),
    }
    await activation(time_skipping_env, family).terminate("test done")


async def test_information_requested_answered_and_review_restarts(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene, make_client
):
    school, admin, support, family, lea = scene
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    handle = correction(time_skipping_env, request_id)
    early = await api.post(f"/assistance/requests/{request_id}/answer", json={"message": "Bonjour"})
    assert (
        early.status_code == 409 and early.json()["code"] == "correction_not_awaiting_information"
    )

    await time_skipping_env.sleep(timedelta(days=1))
    question = "Pouvez-vous nous transmettre une copie du livret de famille ?"
    async with signed_in_staff(make_client, admin) as http:
        asked = await http.post(
            f"/staff/requests/{request_id}/ask-information", json={"question": question}
        )
        assert asked.status_code == 200 and asked.json()["status"] == "awaiting_information", (
            asked.text
        )
    assert await step_attribute(handle) == "awaiting_information"
    _, asking = await mailbox.wait_for(family.email, 2)
    assert question in asking.text
    assert (await api.get(f"/assistance/requests/{request_id}")).json()["question"] == question

    # No reminder to staff while the person is the one to act.
    await time_skipping_env.sleep(timedelta(days=3))
    assert len(await mailbox.wait_for(admin.email, 2, timeout=1)) == 1

    answered = await api.post(
        f"/assistance/requests/{request_id}/answer",
        json={"message": "Je l'apporte au secrétariat demain."},
    )
    assert answered.status_code == 202, answered.text
    await wait_for_step(handle, CorrectionStep.AWAITING_REVIEW)
    _, told = await mailbox.wait_for(admin.email, 2)
    assert "a répondu" in told.subject

    # The review clock starts again from the answer: a reminder 2 days later.
    await time_skipping_env.sleep(timedelta(days=1, hours=23))
    assert len(await mailbox.wait_for(admin.email, 3, timeout=1)) == 2
    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
    assert (await mailbox.wait_for(admin.email, 3))[2].subject.startswith("Rappel")

    async with signed_in_staff(make_client, admin) as http:
        detail = (await http.get(f"/staff/requests/{request_id}")).json()
        assert [m["kind"] for m in detail["messages"]] == ["request", "question", "answer"]
        assert [e["kind"] for e in detail["process"]["timeline"]] == [
            "filed", "decision", "answered", "reminder_sent",
        ]  # fmt: skip
        assert any(a["action"] == "correction.ask_information" for a in detail["audit"])
        approved = await http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
        assert approved.json()["status"] == "approved"
    assert (await handle.result()).step == CorrectionStep.APPROVED
    await activation(time_skipping_env, family).terminate("test done")
    # Both decisions came by the update `decide_and_wait`: the new shape, for the replay suite.
    await record_history(handle, "birthdate-correction-decided-by-update")


async def second_guardian(db_pool, family: Family) -> Family:
    """The children's other legal guardian, with a provisioned account of their own."""
    tag = letters_tag()
    guardian_id, account_id = uuid.uuid4(), uuid.uuid4()
    email = f"dominique.{tag}@example.fr"
    password = "Bienvenue28y"
    async with db_pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO guardians (id, last_name, first_name, email) VALUES ($1, $2, 'Dominique', $3)",
            guardian_id,
            f"Famille{tag}",
            email,
        )
        await conn.execute(
            "INSERT INTO guardian_pupils (guardian_id, pupil_id) "
            "SELECT $1, pupil_id FROM guardian_pupils WHERE guardian_id = $2",
            guardian_id,
            family.guardian_id,
        )
        await conn.execute(
            "INSERT INTO accounts (id, kind, identifier, guardian_id, provisional_password_hash, "
            "provisional_expires_at, email) VALUES ($1, 'guardian', $2, $3, $4, now() + interval '92 days', $5)",
            account_id,
            f"d.famille{tag}",
            guardian_id,
            await hash_password_async(password),
            email,
        )
    return Family(
        account_id, f"d.famille{tag}", password, email, family.child_birthdates, guardian_id
    )


async def test_duplicate_request_joins_the_open_one_and_approval_unblocks_both(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene, make_client
):
    school, admin, support, family, lea = scene
    other = await second_guardian(db_pool, family)
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    # The same guardian again: the same request, nothing new.
    same = await file_request(api, lea["id"], WRONG_BIRTHDATE)
    assert (
        same.status_code == 201
        and same.json()["request_id"] == request_id
        and same.json()["joined"]
    )

    await block_activation(api, other)
    joined = await file_request(api, lea["id"], WRONG_BIRTHDATE)
    assert joined.status_code == 201, joined.text
    assert joined.json()["request_id"] == request_id and joined.json()["joined"]
    assert "déjà en cours" in joined.json()["message"]
    participants = await db_pool.fetch(
        "SELECT blocked_process_id FROM correction_participants WHERE request_id = $1 ORDER BY created_at",
        uuid.UUID(request_id),
    )
    assert [p["blocked_process_id"] for p in participants] == [
        activation_id(family.account_id),
        activation_id(other.account_id),
    ]
    handle = correction(time_skipping_env, request_id)
    await asyncio.sleep(0.2)
    assert "joined" in [
        e.kind for e in (await handle.query(BirthdateCorrectionWorkflow.status)).timeline
    ]

    async with signed_in_staff(make_client, admin) as http:
        queue = (await http.get("/staff/requests")).json()
        assert [q["request_id"] for q in queue] == [request_id] and queue[0]["requesters"] == 2
        approved = await http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
        assert approved.status_code == 200, approved.text
    assert (await handle.result()).step == CorrectionStep.APPROVED
    unblocked = [
        e.label
        for e in (await handle.query(BirthdateCorrectionWorkflow.status)).timeline
        if e.kind == "unblocked"
    ]
    assert len(unblocked) == 2
    for guardian in (family, other):
        status = await activation(time_skipping_env, guardian).query(ActivationWorkflow.status)
        assert status.step == ActivationStep.PROFILE and status.attempts_left == 3
        assert (
            "date de naissance corrigée" in (await mailbox.wait_for(guardian.email, 2))[-1].subject
        )
        await activation(time_skipping_env, guardian).terminate("test done")


async def test_filing_again_from_the_same_process_signals_nothing(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene
):
    """The person (or a script) sends the form again and again: the request
    is the same, and its workflow hears nothing of it (a signal each time
    would grow its history and timeline without bound)."""
    school, admin, support, family, lea = scene
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    for _ in range(3):
        same = await file_request(api, lea["id"], WRONG_BIRTHDATE)
        assert (
            same.status_code == 201
            and same.json()["request_id"] == request_id
            and same.json()["joined"]
        )
    handle = correction(time_skipping_env, request_id)
    await asyncio.sleep(0.2)
    history = await handle.fetch_history()
    signals = [
        e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signals == []
    status = await handle.query(BirthdateCorrectionWorkflow.status)
    assert [e.kind for e in status.timeline if e.kind == "joined"] == []
    await handle.terminate("test done")
    await activation(time_skipping_env, family).terminate("test done")


async def test_decision_from_outside_the_scope_is_refused(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene, make_client
):
    school, admin, support, family, lea = scene
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    neighbour = await make_school(
        db_pool, academie=school.academie
    )  # same académie, another school
    neighbour_admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, neighbour)
    elsewhere = await make_school(db_pool)  # another académie
    elsewhere_support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, elsewhere)

    for outsider in (neighbour_admin, elsewhere_support):
        async with signed_in_staff(make_client, outsider) as http:
            refused = await http.post(
                f"/staff/requests/{request_id}/approve",
                json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
            )
            # Out of scope answers like unknown: nothing learnt about another school's families.
            assert refused.status_code == 404 and refused.json()["code"] == "correction_not_found"
            assert (await http.get(f"/staff/requests/{request_id}")).status_code == 404
            assert (await http.get("/staff/requests")).json() == []
    handle = correction(time_skipping_env, request_id)
    assert (
        await handle.query(BirthdateCorrectionWorkflow.status)
    ).step == CorrectionStep.AWAITING_REVIEW
    entries = await audit_of(db_pool, request_id, lea["id"])
    refusals = {(e["actor_id"], e["action"]) for e in entries if e["outcome"] == "refused"}
    assert {
        (neighbour_admin.id, "correction.approve"),
        (elsewhere_support.id, "correction.approve"),
    } <= refusals

    # The workflow refuses too, whatever reaches it.
    forged = StaffDecision(
        decision_id=uuid.uuid4(),
        kind=DecisionKind.APPROVE,
        staff=StaffRef(
            staff_id=neighbour_admin.id,
            role=StaffRole.SCHOOL_ADMIN,
            uai=neighbour.uai,
            academie=neighbour.academie,
            label="Agent hors périmètre",
        ),  # fmt: skip
        corrected_birthdate=date(2013, 1, 1),
    )
    await handle.signal(BirthdateCorrectionWorkflow.decide, forged)
    for _ in range(100):
        timeline = (await handle.query(BirthdateCorrectionWorkflow.status)).timeline
        if any(e.decision_id == forged.decision_id for e in timeline):
            break
        await asyncio.sleep(0.05)
    [event] = [e for e in timeline if e.decision_id == forged.decision_id]
    assert event.outcome == "refused_scope"
    assert (
        await handle.query(BirthdateCorrectionWorkflow.status)
    ).step == CorrectionStep.AWAITING_REVIEW
    assert (
        await db_pool.fetchval("SELECT birthdate FROM pupils WHERE id = $1", lea["id"])
        == lea["birthdate"]
    )
    for _ in range(100):
        checked = await db_pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE target_id = $1 AND outcome = 'refused' "
            "AND details->>'checked_by' = 'workflow'",
            request_id,
        )
        if checked:
            break
        await asyncio.sleep(0.05)
    assert checked == 1
    await handle.terminate("test done")
    await activation(time_skipping_env, family).terminate("test done")


async def test_the_person_is_told_by_sms_when_they_chose_it(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene, make_client, sms_gateway
):
    school, admin, support, family, lea = scene
    mobile = f"+3366{secrets.randbelow(10**7):07d}"
    local = "0" + mobile[3:]  # typed the French way
    await block_activation(api, family)
    landline = await file_request(
        api, lea["id"], WRONG_BIRTHDATE, contact="sms", mobile="04 78 12 34 56"
    )
    assert landline.status_code == 422 and landline.json()["code"] == "phone_invalid"
    filed = await file_request(api, lea["id"], WRONG_BIRTHDATE, contact="sms", mobile=local)
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["request_id"]
    outbox = SmsOutbox(sms_gateway.outbox_path)
    [received] = await outbox.wait_for(mobile, 1)
    assert "bien reçue" in received["text"]

    async with signed_in_staff(make_client, admin) as http:
        approved = await http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
        assert approved.status_code == 200, approved.text
    _, told = await outbox.wait_for(mobile, 2)
    assert "acceptée" in told["text"] and WRONG_BIRTHDATE.strftime("%d/%m/%Y") in told["text"]
    assert mailbox.to(family.email) == []  # SMS only, as chosen
    detail = await db_pool.fetchrow(
        "SELECT contact_channel, contact_mobile FROM correction_participants WHERE request_id = $1",
        uuid.UUID(request_id),
    )
    assert (detail["contact_channel"], detail["contact_mobile"]) == ("sms", mobile)
    await activation(time_skipping_env, family).terminate("test done")


async def test_a_decision_by_update_answers_its_outcome_and_its_validator_refuses(
    api, db_pool, mailbox: Mailbox, time_skipping_env, scene, make_client
):
    """The update's validator refuses a scope that does not cover the pupil's
    school, a decision heard already and a request decided already, before
    anything is recorded; a made-up decision id in the right scope is read
    back and refused by the activity; the staff API gets the outcome."""
    school, admin, support, family, lea = scene
    request_id = await file_blocked_request(api, family, lea, mailbox, admin)
    handle = correction(time_skipping_env, request_id)
    elsewhere = DecisionScope(uai="0000000X", academie=school.academie)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            DECISION_UPDATE, DecisionMade(decision_id=uuid.uuid4(), scope=elsewhere),
            result_type=DecisionAnswer,
        )  # fmt: skip
    assert refused.value.cause.type == DECISION_REJECTED
    assert refused.value.cause.details == ("out_of_scope",)

    made_up = uuid.uuid4()
    scope = DecisionScope(uai=school.uai, academie=school.academie)
    answer = await handle.execute_update(
        DECISION_UPDATE, DecisionMade(decision_id=made_up, scope=scope), result_type=DecisionAnswer
    )
    assert answer.outcome == "refused_unknown" and answer.step == CorrectionStep.AWAITING_REVIEW
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            DECISION_UPDATE, DecisionMade(decision_id=made_up, scope=scope),
            result_type=DecisionAnswer,
        )  # fmt: skip
    assert refused.value.cause.details == ("already_used",)

    async with signed_in_staff(make_client, support) as http:  # académie support: any school
        approved = await http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
        assert approved.status_code == 200 and approved.json()["status"] == "approved", (
            approved.text
        )
    history = await handle.fetch_history()
    updates = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert updates == [DECISION_UPDATE, DECISION_UPDATE]  # the refused one left nothing
    assert not [
        e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
        and e.workflow_execution_signaled_event_attributes.signal_name == "decide"
    ]  # fmt: skip
    assert (await handle.result()).step == CorrectionStep.APPROVED
    await activation(time_skipping_env, family).terminate("test done")
