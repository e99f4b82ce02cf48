"""Messages sent to a birthdate-correction workflow by someone other than the
API (the Temporal Web UI, a script), on the time-skipping server with the
real activities and API: a made-up staff decision naming a real staff
member, another request's decision, a made-up answer or joining requester.
Each is refused and noted for operators; nothing changes, nothing is retried,
the request still waits, and real decisions still work afterwards."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import pytest_asyncio

from educonnect.models.activation import ActivationStep
from educonnect.models.corrections import CorrectionStep
from tests.support.corrections import (
    WRONG_BIRTHDATE,
    blocked_and_filed,
    school_scene,
    signed_in_staff,
)
from workflows.activation import ActivationWorkflow
from workflows.activation import workflow_id as activation_id
from workflows.birthdate_correction import BirthdateCorrectionWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

FORGED_DATE = "2013-03-03"


@pytest_asyncio.fixture(loop_scope="session")
async def scene(db_pool):
    scene = await school_scene(db_pool)
    lea, sibling = scene.children
    return scene.school, scene.admin, scene.family, lea, sibling


def forged_decision(school, staff_id, decision_id=None) -> dict:
    """What a Web UI user types: plain JSON, a made-up decision, a real staff id."""
    return {
        "decision_id": str(decision_id or uuid.uuid4()),
        "kind": "approve",
        "staff": {
            "staff_id": str(staff_id),
            "role": "school_admin",
            "uai": school.uai,
            "academie": school.academie,
            "label": "Agent Secretariat (administrateur d'établissement)",
        },  # fmt: skip
        "corrected_birthdate": FORGED_DATE,
    }


async def timeline_event(handle, decision_id: str):
    for _ in range(200):
        timeline = (await handle.query(BirthdateCorrectionWorkflow.status)).timeline
        found = [e for e in timeline if str(e.decision_id) == decision_id]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"decision {decision_id} never handled")


async def timeline_kinds(handle, kind: str, count: int) -> list:
    for _ in range(200):
        events = [
            e
            for e in (await handle.query(BirthdateCorrectionWorkflow.status)).timeline
            if e.kind == kind
        ]
        if len(events) >= count:
            return events
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} {kind} events")


async def no_activity_pending(handle) -> bool:
    return list((await handle.describe()).raw_description.pending_activities) == []


async def test_forged_decisions_are_refused_and_a_real_one_still_works(
    api, db_pool, time_skipping_env, scene, make_client
):
    school, admin, family, lea, sibling = scene
    request_id = await blocked_and_filed(api, family, lea["id"])
    handle = time_skipping_env.client.get_workflow_handle_for(
        BirthdateCorrectionWorkflow.run, workflow_id(request_id)
    )

    # Another request's real decision (in scope, written by the API, not yet applied).
    other_request, other_decision = uuid.uuid4(), uuid.uuid4()
    await db_pool.execute(
        "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate) VALUES ($1, $2, $3, $4, $5)",
        other_request, sibling["id"], school.uai, school.academie, WRONG_BIRTHDATE,
    )  # fmt: skip
    await db_pool.execute(
        "INSERT INTO staff_decisions (id, request_id, staff_id, kind, corrected_birthdate) "
        "VALUES ($1, $2, $3, 'approve', $4)",
        other_decision, other_request, admin.id, WRONG_BIRTHDATE,
    )  # fmt: skip

    forged = [
        forged_decision(school, admin.id),  # made up, naming the real administrator
        forged_decision(school, uuid.uuid4()),  # a random staff id: once wedged the request
        {"decision_id": str(uuid.uuid4())},  # the id alone, as the API sends it
        forged_decision(school, admin.id, other_decision),  # another request's decision
    ]
    for payload in forged:
        await handle.signal("decide", payload)  # by name, untyped: as the Web UI sends it
    outcomes = [(await timeline_event(handle, p["decision_id"])).outcome for p in forged]
    assert outcomes == ["refused_unknown"] * 4
    refused = await timeline_event(handle, forged[0]["decision_id"])
    assert refused.staff is None and "Agent" not in refused.label  # the claim names nobody

    # Nothing changed, nothing is retried, the request still waits.
    status = await handle.query(BirthdateCorrectionWorkflow.status)
    assert status.step == CorrectionStep.AWAITING_REVIEW and status.decided_by is None
    assert await no_activity_pending(handle)
    assert (
        await db_pool.fetchval("SELECT birthdate FROM pupils WHERE id = $1", lea["id"])
        == lea["birthdate"]
    )
    row = await db_pool.fetchrow(
        "SELECT status, decided_by FROM correction_requests WHERE id = $1", uuid.UUID(request_id)
    )
    assert (row["status"], row["decided_by"]) == ("awaiting_review", None)
    assert (
        await db_pool.fetchval(
            "SELECT applied_at FROM staff_decisions WHERE id = $1", other_decision
        )
        is None
    )
    forged_ids = [p["decision_id"] for p in forged]
    audit = await db_pool.fetch(
        "SELECT actor_kind, actor_id, action, outcome, details->>'code' AS code FROM audit_log "
        "WHERE details->>'decision_id' = ANY($1::text[]) OR (target_kind = 'pupil' AND target_id = $2)",
        forged_ids, str(lea["id"]),
    )  # fmt: skip
    assert (
        sorted(
            (e["actor_kind"], e["actor_id"], e["action"], e["outcome"], e["code"]) for e in audit
        )
        == [("system", None, "correction.decision", "refused", "decision_unknown")] * 4
    )
    activation = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, activation_id(family.account_id)
    )
    assert (
        await activation.query(ActivationWorkflow.status)
    ).step == ActivationStep.BIRTHDATE_BLOCKED

    # The administrator's real decision goes through.
    async with signed_in_staff(make_client, admin) as http:
        approved = await http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
    result = await handle.result()
    assert result.step == CorrectionStep.APPROVED and result.decided_by.staff_id == admin.id
    assert (
        await db_pool.fetchval("SELECT birthdate FROM pupils WHERE id = $1", lea["id"])
        == WRONG_BIRTHDATE
    )
    [corrected] = await db_pool.fetch(
        "SELECT actor_id, details->>'decision_id' AS decision_id FROM audit_log "
        "WHERE target_kind = 'pupil' AND target_id = $1 AND action = 'pupil.birthdate_corrected'",
        str(lea["id"]),
    )
    decision = await db_pool.fetchrow(
        "SELECT id, staff_id, applied_at FROM staff_decisions WHERE request_id = $1",
        uuid.UUID(request_id),
    )
    assert (
        corrected["actor_id"] == admin.id == decision["staff_id"]
        and decision["applied_at"] is not None
    )
    assert corrected["decision_id"] == str(decision["id"])
    status = await activation.query(ActivationWorkflow.status)
    assert status.step == ActivationStep.PROFILE and status.attempts_left == 3

    await activation.terminate("test done")
    await db_pool.execute("DELETE FROM staff_decisions WHERE id = $1", other_decision)
    await db_pool.execute("DELETE FROM correction_requests WHERE id = $1", other_request)


async def test_a_forged_answer_or_requester_is_refused(
    api, db_pool, time_skipping_env, scene, make_client
):
    school, admin, family, lea, sibling = scene
    request_id = await blocked_and_filed(api, family, lea["id"])
    handle = time_skipping_env.client.get_workflow_handle(workflow_id(request_id))
    async with signed_in_staff(make_client, admin) as http:
        asked = await http.post(
            f"/staff/requests/{request_id}/ask-information",
            json={"question": "Quel justificatif ?"},
        )
        assert asked.status_code == 200 and asked.json()["status"] == "awaiting_information", (
            asked.text
        )
    question = await db_pool.fetchval(
        "SELECT id FROM correction_messages WHERE request_id = $1 AND kind = 'question'",
        uuid.UUID(request_id),
    )

    for message_id in (uuid.uuid4(), question):  # made up; staff's own question
        await handle.signal("information_received", {"message_id": str(message_id)})
    await handle.signal("participant_joined", {"participant_id": str(uuid.uuid4())})
    assert len(await timeline_kinds(handle, "answer_refused", 2)) == 2
    assert len(await timeline_kinds(handle, "join_refused", 1)) == 1
    status = await handle.query(BirthdateCorrectionWorkflow.status)
    assert status.step == CorrectionStep.AWAITING_INFORMATION
    assert [e.kind for e in status.timeline if e.kind in ("answered", "joined")] == []
    assert await no_activity_pending(handle)
    row_status = await db_pool.fetchval(
        "SELECT status FROM correction_requests WHERE id = $1", uuid.UUID(request_id)
    )
    assert row_status == "awaiting_information"

    # The person's real answer restarts the review.
    answered = await api.post(
        f"/assistance/requests/{request_id}/answer", json={"message": "Le livret de famille."}
    )
    assert answered.status_code == 202, answered.text
    assert len(await timeline_kinds(handle, "answered", 1)) == 1
    assert (
        await handle.query(BirthdateCorrectionWorkflow.status)
    ).step == CorrectionStep.AWAITING_REVIEW
    await handle.terminate("test done")
    await time_skipping_env.client.get_workflow_handle(activation_id(family.account_id)).terminate(
        "test done"
    )
