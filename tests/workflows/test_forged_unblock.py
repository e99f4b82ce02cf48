"""`birthdate_unblocked` sent to a blocked process by someone other than an
approved correction (the Temporal Web UI, a script), on the time-skipping
server with the real activities and API: a made-up correction id, and the
real, approved correction of another process. The activation reads each back
from PostgreSQL, stays blocked with its tries unchanged, notes the refusal
for operators and retries nothing; staff's real approval still unblocks it,
by the time the approval's answer comes back."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio
from temporalio.api.sdk.v1 import WorkflowMetadata

from educonnect.models.activation import ActivationStep, BirthdateUnblocked
from educonnect.models.corrections import CorrectionStep
from tests.support.corrections import (
    WRONG_BIRTHDATE,
    approved_correction,
    blocked_and_filed,
    eventually,
    school_scene,
    signed_in_staff,
)
from workflows.activation import ActivationWorkflow
from workflows.activation import workflow_id as activation_id
from workflows.birthdate_correction import BirthdateCorrectionWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

REFUSED_NOTE = "Déblocage ignoré"


@pytest_asyncio.fixture(loop_scope="session")
async def scene(db_pool):
    scene = await school_scene(db_pool)
    return scene.school, scene.admin, scene.family, scene.children[0]


async def operator_details(handle) -> str:
    """The Web UI's "Current details"."""
    return (
        await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    ).current_details


async def no_activity_pending(handle) -> bool:
    return list((await handle.describe()).raw_description.pending_activities) == []


async def test_forged_unblocks_are_ignored_and_the_real_approval_unblocks(
    api, db_pool, time_skipping_env, scene, make_client
):
    school, admin, family, lea = scene
    request_id = await blocked_and_filed(api, family, lea["id"])
    activation = time_skipping_env.client.get_workflow_handle_for(
        ActivationWorkflow.run, activation_id(family.account_id)
    )
    blocked = await activation.query(ActivationWorkflow.status)
    assert blocked.step == ActivationStep.BIRTHDATE_BLOCKED and blocked.attempts_left == 0

    # A made-up correction, a string that is no id at all, and another process's approved correction.
    other_process = activation_id(uuid.uuid4())
    forged = [str(uuid.uuid4()), "test", await approved_correction(db_pool, other_process)]
    for n, correction_id in enumerate(forged, start=1):
        await activation.signal(
            "birthdate_unblocked", {"correction_id": correction_id}
        )  # as the Web UI sends it

        async def refused(n=n) -> bool:
            return (await operator_details(activation)).count(REFUSED_NOTE) == n

        await eventually(refused, f"forged unblock {n} noted")
    details = await operator_details(activation)
    assert all(correction_id in details for correction_id in forged)

    # Nothing changed, nothing is retried: still blocked, no try given back.
    assert await no_activity_pending(activation)
    status = await activation.query(ActivationWorkflow.status)
    assert status.step == ActivationStep.BIRTHDATE_BLOCKED and status.attempts_left == 0
    page = (await api.get("/activation")).json()
    assert page["step"] == "birthdate_blocked" and page["attempts_left"] == 0
    right = {
        "password": "Soleil2027b",
        "password_confirmation": "Soleil2027b",
        "email": family.email,
        "child_birthdate": lea["birthdate"].isoformat(),
    }
    still = await api.post("/activation/profile", json=right)
    assert still.status_code == 423 and still.json()["code"] == "birthdate_blocked"
    request = correction_handle(time_skipping_env, request_id)
    assert (
        await request.query(BirthdateCorrectionWorkflow.status)
    ).step == CorrectionStep.AWAITING_REVIEW

    # Staff's real approval unblocks it, visibly so as soon as the approval is answered.
    async with signed_in_staff(make_client, admin) as http:
        approved = await http.post(
            f"/staff/requests/{request_id}/approve",
            json={"corrected_birthdate": WRONG_BIRTHDATE.isoformat()},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
    status = await activation.query(ActivationWorkflow.status)
    assert status.step == ActivationStep.PROFILE and status.attempts_left == 3
    assert (await request.result()).step == CorrectionStep.APPROVED
    # The approval waited for the activation's confirmation before telling anyone.
    events = (await request.fetch_history()).events
    signals = [e.workflow_execution_signaled_event_attributes.signal_name for e in events]
    activities = [e.activity_task_scheduled_event_attributes.activity_type.name for e in events]
    confirmed = [i for i, name in enumerate(signals) if name == "unblock_confirmed"]
    notices = [i for i, name in enumerate(activities) if name == "notify_requesters"]
    assert len(confirmed) == 1 and confirmed[0] < notices[-1]

    # The same approval again (replayed from the Web UI) gives nothing more once used.
    wrong = dict(right, child_birthdate="2012-12-12")
    for _ in range(3):
        answer = await api.post("/activation/profile", json=wrong)
    assert answer.status_code == 423 and answer.json()["code"] == "birthdate_blocked"
    await activation.signal(
        ActivationWorkflow.birthdate_unblocked, BirthdateUnblocked(correction_id=request_id)
    )

    async def refused_again() -> bool:
        return (await operator_details(activation)).count(
            REFUSED_NOTE
        ) == 1  # the step's details were rewritten

    await eventually(refused_again, "replayed approval noted")
    status = await activation.query(ActivationWorkflow.status)
    assert status.step == ActivationStep.BIRTHDATE_BLOCKED and status.attempts_left == 0
    await activation.terminate("test done")


def correction_handle(env, request_id: str):
    return env.client.get_workflow_handle_for(
        BirthdateCorrectionWorkflow.run, workflow_id(request_id)
    )
