"""A staff decision forged from the Temporal Web UI, end to end on the dev
server (issue 19): real worker and API processes, real PostgreSQL with the
demo data and its demo staff.

A guardian is blocked after three wrong birthdates and files a correction.
Someone who reaches the Web UI (no sign-in) sends the workflow a `decide`
signal through the UI's own API, as its "Send a signal" button does: a
made-up decision, the real administrator's staff id, a date of their
choosing; then one with a random staff id (which once wedged the request).
Both are refused: the pupil's record is unchanged, no audit entry names the
administrator for them, the activation stays blocked, nothing is retried and
the request still waits. The administrator's real approval then goes through."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest

from educonnect.devtools import demo_data
from tests.e2e.conftest import E2E_DEMO_PUPILS
from tests.support.mail import Mailbox
from workflows.activation import ActivationWorkflow
from workflows.activation import workflow_id as activation_id
from workflows.birthdate_correction import BirthdateCorrectionWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Falsifiee27z"


async def signal_from_web_ui(
    ui_url: str, workflow: str, signal: str, argument: dict
) -> httpx.Response:
    """What the Web UI does for "Send a signal": its page (for the CSRF
    cookie), then its API, with the argument typed as JSON. No sign-in."""
    payload = {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(json.dumps(argument).encode()).decode(),
    }
    body = {
        "signalName": signal,
        "workflowExecution": {"workflowId": workflow},
        "input": {"payloads": [payload]},
    }
    async with httpx.AsyncClient(base_url=ui_url, timeout=10) as ui:
        assert (await ui.get("/")).status_code == 200
        for _ in range(60):  # the UI connects to the server on first use: 503 until then
            answer = await ui.post(
                f"/api/v1/namespaces/default/workflows/{quote(workflow, safe='')}/signal/{signal}",
                json=body,
                headers={"X-CSRF-TOKEN": ui.cookies["_csrf"]},
            )
            if answer.status_code != 503:
                return answer
            await asyncio.sleep(0.5)
    return answer


async def a_blocked_guardian_with_a_request(
    stack, family: httpx.AsyncClient, mailbox: Mailbox, college_uai: str
):
    """A notified demo guardian, signed in on `family`, blocked after three
    wrong birthdates, who filed a correction for a child outside the collège
    (whose staff the other correction test watches), and who is not the one
    that test takes (the last by identifier)."""
    rows = await stack.pool.fetch(
        """
        SELECT a.id, a.identifier, a.email, p.id AS pupil_id, p.birthdate, p.uai
        FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id JOIN pupils p ON p.id = gp.pupil_id
        WHERE a.kind = 'guardian' AND a.state = 'provisioned' AND a.email IS NOT NULL
        ORDER BY a.identifier DESC, p.id
        """
    )
    notified = [
        (r, m)
        for r in rows
        for m in mailbox.to(r["email"])
        if m.subject == "Vos identifiants EduConnect"
    ]
    taken_by_the_other_test = notified[0][0]["id"]
    guardian, notification = next(
        (r, m)
        for r, m in notified
        if r["uai"] != college_uai and r["id"] != taken_by_the_other_test
    )
    provisional = notification.text.split("Mot de passe provisoire : ", 1)[1].split()[0]
    siblings = {
        r["birthdate"]
        for r in await stack.pool.fetch(
            "SELECT p.birthdate FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id "
            "JOIN pupils p ON p.id = gp.pupil_id WHERE a.id = $1",
            guardian["id"],
        )
    }
    wrong = guardian["birthdate"] + timedelta(days=1)
    while wrong in siblings:
        wrong += timedelta(days=1)
    signed = await family.post(
        "/sign-in", json={"identifier": guardian["identifier"], "password": provisional}
    )
    assert signed.status_code == 200 and signed.json()["status"] == "activation_required", (
        signed.text
    )
    profile = {"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD, "email": guardian["email"],
               "child_birthdate": wrong.isoformat()}  # fmt: skip
    answers = [await family.post("/activation/profile", json=profile) for _ in range(3)]
    assert answers[-1].json()["code"] == "birthdate_blocked"
    filed = await family.post(
        "/assistance/date-de-naissance",
        json={"pupil_id": str(guardian["pupil_id"]), "proposed_birthdate": wrong.isoformat(),
              "message": "La date du dossier est erronée.", "contact": "email"},
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    return guardian, wrong, filed.json()["request_id"]


async def handled(handle, decision_id: str):
    for _ in range(150):
        status = await handle.query(BirthdateCorrectionWorkflow.status)
        found = [e for e in status.timeline if str(e.decision_id) == decision_id]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the workflow never handled decision {decision_id}")


async def test_a_decision_forged_from_the_web_ui_changes_nothing(
    stack, mailbox: Mailbox, temporal_ui_url
):
    data = demo_data.generate(n_pupils=E2E_DEMO_PUPILS)
    staff = demo_data.demo_staff(data)

    def forged(staff_id) -> dict:
        return {
            "decision_id": str(uuid.uuid4()),
            "kind": "approve",
            "staff": {"staff_id": str(staff_id), "role": "school_admin", "uai": school.uai, "academie": school.academie,
                      "label": f"{school_admin.display_name} (administrateur d'établissement, {school.uai})"},
            "corrected_birthdate": forged_date,
        }  # fmt: skip

    async with stack.http() as family:
        guardian, wrong, request_id = await a_blocked_guardian_with_a_request(
            stack, family, mailbox, data.college.uai
        )
        school = next(s for s in data.schools if s.uai == guardian["uai"])
        school_admin = next(s for s in staff if s.uai == school.uai)
        admin_id = await stack.pool.fetchval(
            "SELECT id FROM staff_accounts WHERE login = $1", school_admin.login
        )
        handle = stack.temporal.get_workflow_handle_for(
            BirthdateCorrectionWorkflow.run, workflow_id(request_id)
        )
        activation = stack.temporal.get_workflow_handle_for(
            ActivationWorkflow.run, activation_id(guardian["id"])
        )
        forged_date = (guardian["birthdate"] - timedelta(days=400)).isoformat()
        signals = [
            forged(admin_id),
            forged(uuid.uuid4()),
        ]  # the real administrator; a random staff id
        for argument in signals:
            sent = await signal_from_web_ui(
                temporal_ui_url, workflow_id(request_id), "decide", argument
            )
            assert sent.status_code == 200, (
                sent.text
            )  # Temporal took it: the workflow is what refuses
        for argument in signals:
            refused = await handled(handle, argument["decision_id"])
            assert refused.outcome == "refused_unknown" and refused.staff is None

        # Nothing changed; nothing is retried; the request still waits on staff.
        assert (
            await stack.pool.fetchval(
                "SELECT birthdate FROM pupils WHERE id = $1", guardian["pupil_id"]
            )
            == (guardian["birthdate"])
        )
        forged_ids = [a["decision_id"] for a in signals]
        named = await stack.pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE actor_id = $1 AND (details->>'decision_id' = ANY($2::text[]) "
            "OR target_id = $3 OR target_id = $4)",
            admin_id, forged_ids, request_id, str(guardian["pupil_id"]),
        )  # fmt: skip
        assert named == 0
        refusals = await stack.pool.fetch(
            "SELECT actor_kind, outcome FROM audit_log WHERE details->>'decision_id' = ANY($1::text[])",
            forged_ids,
        )
        assert [tuple(r) for r in refusals] == [("system", "refused")] * 2
        status = await handle.query(BirthdateCorrectionWorkflow.status)
        assert status.step == "awaiting_review" and status.decided_by is None
        assert list((await handle.describe()).raw_description.pending_activities) == []
        assert (await family.get("/activation")).json()["step"] == "birthdate_blocked"
        assert (await activation.query(ActivationWorkflow.status)).step == "birthdate_blocked"

        # The administrator's real approval goes through, and the activation resumes.
        async with stack.http() as admin:
            signed = await admin.post(
                "/staff/sign-in",
                json={"login": school_admin.login, "password": school_admin.password},
            )
            assert signed.status_code == 200, signed.text
            approved = await admin.post(
                f"/staff/requests/{request_id}/approve",
                json={"corrected_birthdate": wrong.isoformat()},
            )
            assert approved.status_code == 200, approved.text
            assert approved.json()["pupil"]["birthdate_on_record"] == wrong.isoformat()
        assert (await handle.result()).decided_by.staff_id == admin_id
        [corrected] = await stack.pool.fetch(
            "SELECT actor_id, details->>'new_birthdate' AS new FROM audit_log "
            "WHERE target_kind = 'pupil' AND target_id = $1 AND action = 'pupil.birthdate_corrected'",
            str(guardian["pupil_id"]),
        )
        assert (corrected["actor_id"], corrected["new"]) == (admin_id, wrong.isoformat())
        status = (await family.get("/activation")).json()
        assert status["step"] == "profile" and status["attempts_left"] == 3
    await activation.terminate("test done")
