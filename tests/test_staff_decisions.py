"""The activity that reads a staff decision back before applying it
(`activities.correction_decisions`), on the real PostgreSQL: what it refuses
(non-retryable, audited under the platform's name, nothing changed) and that
a retry of the activity that applied it answers the same, once."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.correction_decisions import CorrectionDecisionActivities
from educonnect import staff_decisions
from educonnect.models.corrections import MESSAGE_REFUSED, DecisionKind, DecisionToApply, StaffRole
from educonnect.staff import get_staff
from tests.support.corrections import children_of, family_at, make_school, make_staff

pytestmark = pytest.mark.asyncio(loop_scope="session")

CORRECTED = date(2014, 2, 2)


@pytest_asyncio.fixture(loop_scope="session")
async def request_(db_pool):
    """An open correction request of a school of its own, and that school's administrator."""
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    pupil = (await children_of(db_pool, await family_at(db_pool, school)))[0]
    request_id = uuid.uuid4()
    await db_pool.execute(
        "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate) VALUES ($1, $2, $3, $4, $5)",
        request_id, pupil["id"], school.uai, school.academie, CORRECTED,
    )  # fmt: skip
    return request_id, pupil, admin, school


async def decided(db_pool, request_id, admin, kind=DecisionKind.APPROVE) -> uuid.UUID:
    """A decision written as the staff API writes it (a reason for a rejection)."""
    member = await get_staff(db_pool, admin.id)
    approve = kind == DecisionKind.APPROVE
    message_id = None if approve else uuid.uuid4()
    async with db_pool.acquire() as conn:
        if message_id is not None:
            await conn.execute(
                "INSERT INTO correction_messages (id, request_id, kind, staff_id, body) "
                "VALUES ($1, $2, 'reason', $3, 'Non')",
                message_id, request_id, admin.id,
            )  # fmt: skip
        return await staff_decisions.record(
            conn,
            member,
            request_id,
            kind,
            corrected_birthdate=CORRECTED if approve else None,
            message_id=message_id,
        )


def env(run: str = "run-1") -> ActivityEnvironment:
    activity_env = ActivityEnvironment()
    info = dataclasses.replace(
        activity_env.info, workflow_id="birthdate-correction/x", workflow_run_id=run
    )
    activity_env.info = info
    return activity_env


async def apply(db_pool, request_id, decision_id, run: str = "run-1"):
    activities = CorrectionDecisionActivities(db_pool)
    ref = DecisionToApply(request_id=request_id, decision_id=decision_id)
    return await env(run).run(activities.apply_staff_decision, ref)


async def refused_reason(db_pool, request_id, decision_id, run: str = "run-1") -> str:
    with pytest.raises(ApplicationError) as refused:
        await apply(db_pool, request_id, decision_id, run)
    assert refused.value.type == MESSAGE_REFUSED and refused.value.non_retryable
    return refused.value.details[0]


async def unchanged(db_pool, request_id, pupil) -> bool:
    row = await db_pool.fetchrow(
        "SELECT status, decided_by FROM correction_requests WHERE id = $1", request_id
    )
    birthdate = await db_pool.fetchval("SELECT birthdate FROM pupils WHERE id = $1", pupil["id"])
    return (row["status"], row["decided_by"], birthdate) == (
        "awaiting_review",
        None,
        pupil["birthdate"],
    )


async def test_an_unknown_or_foreign_decision_is_refused_and_audited_naming_nobody(
    db_pool, request_
):
    request_id, pupil, admin, school = request_
    assert await refused_reason(db_pool, request_id, uuid.uuid4()) == "unknown"
    other_request = uuid.uuid4()
    sibling = (await db_pool.fetch(
        "SELECT gp2.pupil_id FROM guardian_pupils gp JOIN guardian_pupils gp2 ON gp2.guardian_id = gp.guardian_id "
        "WHERE gp.pupil_id = $1 AND gp2.pupil_id <> $1", pupil["id"],
    ))[0]["pupil_id"]  # fmt: skip
    await db_pool.execute(
        "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate) VALUES ($1, $2, $3, $4, $5)",
        other_request, sibling, school.uai, school.academie, CORRECTED,
    )  # fmt: skip
    foreign = await decided(db_pool, other_request, admin)
    assert await refused_reason(db_pool, request_id, foreign) == "unknown"
    assert await unchanged(db_pool, request_id, pupil)
    entries = await db_pool.fetch(
        "SELECT actor_kind, actor_id, outcome FROM audit_log WHERE target_id = $1", str(request_id)
    )
    assert [tuple(e) for e in entries] == [("system", None, "refused")] * 2


async def test_a_decision_whose_author_moved_or_was_disabled_is_refused(db_pool, request_):
    request_id, pupil, admin, school = request_
    decision = await decided(db_pool, request_id, admin)
    elsewhere = await make_school(db_pool, academie=school.academie)
    await db_pool.execute(
        "UPDATE staff_accounts SET uai = $2 WHERE id = $1", admin.id, elsewhere.uai
    )
    assert await refused_reason(db_pool, request_id, decision) == "out_of_scope"
    await db_pool.execute(
        "UPDATE staff_accounts SET uai = $2, active = false WHERE id = $1", admin.id, school.uai
    )
    assert await refused_reason(db_pool, request_id, decision, run="run-2") == "out_of_scope"
    assert await unchanged(db_pool, request_id, pupil)


async def test_applied_once_a_retry_answers_the_same_and_another_run_is_refused(db_pool, request_):
    request_id, pupil, admin, school = request_
    decision = await decided(db_pool, request_id, admin)
    first = await apply(db_pool, request_id, decision)
    assert (first.kind, first.staff.staff_id, first.corrected_birthdate) == (
        DecisionKind.APPROVE,
        admin.id,
        CORRECTED,
    )
    assert first.previous_birthdate == pupil["birthdate"]
    assert await apply(db_pool, request_id, decision) == first  # the same activity, retried
    assert await refused_reason(db_pool, request_id, decision, run="run-2") == "already_used"
    later = await decided(
        db_pool, request_id, admin, DecisionKind.REJECT
    )  # written before the request closed
    assert await refused_reason(db_pool, request_id, later) == "closed"
    row = await db_pool.fetchrow(
        "SELECT status, decided_by FROM correction_requests WHERE id = $1", request_id
    )
    assert (row["status"], row["decided_by"]) == ("approved", admin.id)
    corrections = await db_pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE target_id = $1 AND action = 'pupil.birthdate_corrected'",
        str(pupil["id"]),
    )
    assert corrections == 1
