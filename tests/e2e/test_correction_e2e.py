"""Birthdate correction end to end on the dev server: real worker and API
processes, real PostgreSQL with the demo data (and its demo staff), real SMTP.

A guardian types a wrong birthdate three times, files a correction request;
the administrator of another school is refused; the administrator of the
child's school approves through the staff API; the guardian finishes the
activation with the corrected date. The audit log holds each decision with
its author, and no staff secret reaches Temporal."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from temporalio.worker import Replayer

from educonnect.devtools import demo_data
from educonnect.temporal import data_converter
from tests.e2e.conftest import E2E_DEMO_PUPILS
from tests.support.mail import Mailbox, link_in, token_of
from workflows import ALL_WORKFLOWS
from workflows.birthdate_correction import BirthdateCorrectionWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Correction27z"


async def a_notified_guardian_at(stack, mailbox: Mailbox, uai: str):
    """A demo guardian still to activate, notified by email, with a child at `uai`
    (taken from the end of the list: other tests take theirs from the start)."""
    rows = await stack.pool.fetch(
        """
        SELECT a.id, a.identifier, a.email, p.id AS pupil_id, p.first_name, p.birthdate
        FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id JOIN pupils p ON p.id = gp.pupil_id
        WHERE a.kind = 'guardian' AND a.state = 'provisioned' AND a.email IS NOT NULL AND p.uai = $1
        ORDER BY a.identifier DESC
        """,
        uai,
    )
    for row in rows:
        notifications = [
            m for m in mailbox.to(row["email"]) if m.subject == "Vos identifiants EduConnect"
        ]
        if notifications:
            password = re.search(r"Mot de passe provisoire : (\S+)", notifications[0].text).group(1)
            return row, password
    raise AssertionError("no notified demo guardian with a child there")


async def until(predicate, timeout: float = 15):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value or loop.time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_guardian_blocked_then_school_admin_approves_and_activation_completes(
    stack, mailbox: Mailbox
):
    data = demo_data.generate(n_pupils=E2E_DEMO_PUPILS)
    staff = demo_data.demo_staff(data)
    college = data.college
    lycee = data.schools_of_kind("lycee")[0]
    college_admin = next(s for s in staff if s.uai == college.uai)
    lycee_admin = next(s for s in staff if s.uai == lycee.uai)

    guardian, provisional = await a_notified_guardian_at(stack, mailbox, college.uai)
    siblings = {
        r["birthdate"]
        for r in await stack.pool.fetch(
            "SELECT p.birthdate FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id "
            "JOIN pupils p ON p.id = gp.pupil_id WHERE a.id = $1",
            guardian["id"],
        )
    }
    believed = guardian["birthdate"] + timedelta(days=1)  # what the family believes right
    while believed in siblings:
        believed += timedelta(days=1)

    async with stack.http() as family:
        signed = await family.post(
            "/sign-in", json={"identifier": guardian["identifier"], "password": provisional}
        )
        assert signed.status_code == 200 and signed.json()["status"] == "activation_required", (
            signed.text
        )
        profile = {
            "password": NEW_PASSWORD,
            "password_confirmation": NEW_PASSWORD,
            "email": guardian["email"],
            "child_birthdate": believed.isoformat(),
        }
        answers = [await family.post("/activation/profile", json=profile) for _ in range(3)]
        assert [a.json()["code"] for a in answers] == [
            "birthdate_incorrect",
            "birthdate_incorrect",
            "birthdate_blocked",
        ]
        assert (
            answers[0].json()["message"].startswith("La date de naissance saisie est incorrecte.")
        )
        assistance = answers[2].json()["details"][0]["assistance_url"]

        form = (await family.get(assistance)).json()
        assert str(guardian["pupil_id"]) in {c["pupil_id"] for c in form["children"]}
        filed = await family.post(
            assistance,
            json={
                "pupil_id": str(guardian["pupil_id"]),
                "proposed_birthdate": believed.isoformat(),
                "message": f"{guardian['first_name']} est née le {believed:%d/%m/%Y}, voir le livret de famille.",
                "contact": "email",
            },
        )
        assert filed.status_code == 201, filed.text
        request_id = filed.json()["request_id"]

        # The school's administrator is told; operators find the request waiting on staff.
        new = await mailbox.wait_for(college_admin.login, 1)
        assert any(request_id.replace("-", "")[:8].upper() in m.subject for m in new)
        handle = stack.temporal.get_workflow_handle_for(
            BirthdateCorrectionWorkflow.run, workflow_id(request_id)
        )
        waiting_query = "WorkflowType = 'BirthdateCorrection' AND EduProcessStep IN ('awaiting_review', 'escalated')"

        async def listed(query: str):
            return [w.id async for w in stack.temporal.list_workflows(query)]

        assert await until(lambda: _contains(listed(waiting_query), workflow_id(request_id)))
        description = await handle.describe()
        assert await description.static_summary() == (
            f"Correction de date de naissance — établissement {college.uai} (académie de Lyon)"
        )

        # The administrator of another school is refused.
        async with stack.http() as outsider:
            signed = await outsider.post(
                "/staff/sign-in",
                json={"login": lycee_admin.login, "password": lycee_admin.password},
            )
            assert signed.status_code == 200, signed.text
            assert request_id not in [
                q["request_id"] for q in (await outsider.get("/staff/requests")).json()
            ]
            refused = await outsider.post(
                f"/staff/requests/{request_id}/approve",
                json={"corrected_birthdate": believed.isoformat()},
            )
            assert refused.status_code == 404 and refused.json()["code"] == "correction_not_found"

        # The administrator of the child's school approves.
        async with stack.http() as admin:
            signed = await admin.post(
                "/staff/sign-in",
                json={"login": college_admin.login, "password": college_admin.password},
            )
            assert signed.status_code == 200, signed.text
            staff_token = admin.cookies["educonnect_staff_session"]
            queue = (await admin.get("/staff/requests")).json()
            assert queue[0]["request_id"] == request_id and queue[0]["waiting_on_staff"]
            detail = (await admin.get(f"/staff/requests/{request_id}")).json()
            assert detail["pupil"]["birthdate_on_record"] == guardian["birthdate"].isoformat()
            assert detail["requesters"][0]["blocked_process_id"] == f"activation/{guardian['id']}"
            approved = await admin.post(
                f"/staff/requests/{request_id}/approve",
                json={"corrected_birthdate": believed.isoformat()},
            )
            assert approved.status_code == 200, approved.text
            assert approved.json()["status"] == "approved"
            assert approved.json()["pupil"]["birthdate_on_record"] == believed.isoformat()

        told = await until(
            lambda: _first(mailbox, guardian["email"], "date de naissance corrigée"), timeout=15
        )
        assert told and believed.strftime("%d/%m/%Y") in told.text
        assert (await handle.result()).step == "approved"
        approved_query = "WorkflowType = 'BirthdateCorrection' AND EduProcessStep = 'approved'"
        assert await until(lambda: _contains(listed(approved_query), workflow_id(request_id)))

        # The guardian finishes the activation with the corrected date.
        status = (await family.get("/activation")).json()
        assert status["step"] == "profile" and status["attempts_left"] == 3
        resumed = await family.post("/activation/profile", json=profile)
        assert resumed.status_code == 200, resumed.text
        confirmation = await until(
            lambda: _first(mailbox, guardian["email"], "Mise à disposition de services en ligne"),
            timeout=15,
        )
        assert confirmation is not None
        done = await family.post(
            "/activation/confirmation", data={"jeton": token_of(link_in(confirmation))}
        )
        assert done.status_code == 200 and "Compte activé" in done.text
        signed = await family.post(
            "/sign-in", json={"identifier": guardian["identifier"], "password": NEW_PASSWORD}
        )
        assert signed.json()["status"] == "signed_in"

    # The audit log: each decision with its author, and the record's change.
    entries = await stack.pool.fetch(
        "SELECT actor_id, actor_label, action, outcome, details FROM audit_log "
        "WHERE (target_kind = 'correction_request' AND target_id = $1) OR (target_kind = 'pupil' AND target_id = $2) "
        "ORDER BY id",
        request_id,
        str(guardian["pupil_id"]),
    )
    admin_id = await stack.pool.fetchval(
        "SELECT id FROM staff_accounts WHERE login = $1", college_admin.login
    )
    outsider_id = await stack.pool.fetchval(
        "SELECT id FROM staff_accounts WHERE login = $1", lycee_admin.login
    )
    decisions = [
        (e["actor_id"], e["action"], e["outcome"])
        for e in entries
        if e["action"] == "correction.approve"
    ]
    assert decisions == [
        (outsider_id, "correction.approve", "refused"),
        (admin_id, "correction.approve", "accepted"),
    ]
    [change] = [e for e in entries if e["action"] == "pupil.birthdate_corrected"]
    assert change["actor_id"] == admin_id and college_admin.display_name in change["actor_label"]
    assert (
        guardian["birthdate"].isoformat() in change["details"]
        and believed.isoformat() in change["details"]
    )

    # No staff password and no session token reached Temporal; the history
    # replays deterministically on the current code.
    history = await handle.fetch_history()
    raw = history.to_json()
    for secret in (
        college_admin.password,
        lycee_admin.password,
        staff_token,
        provisional,
        NEW_PASSWORD,
    ):
        assert secret not in raw
    assert "$argon2" not in raw
    replayer = Replayer(workflows=ALL_WORKFLOWS, data_converter=data_converter())
    await replayer.replay_workflow(history)


async def _contains(listing, item) -> bool:
    return item in await listing


async def _first(mailbox: Mailbox, address: str, subject_part: str):
    return next((m for m in mailbox.to(address) if subject_part in m.subject), None)
