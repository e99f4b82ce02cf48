"""SMS self-registration end to end on the dev server: real worker and API
processes, real PostgreSQL with the demo data, the real HTTP SMS gateway on
loopback. The code is read from the gateway's outbox, exactly as the phone
would receive it."""

from __future__ import annotations

import pytest

from tests.support.sms import SmsOutbox, code_in
from workflows.sms_registration import SmsRegistrationWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD = "Marelle2026q"


async def a_demo_guardian_without_account(stack):
    """A demo guardian with a mobile and children, who has no account (the
    school provisioned only the collège families)."""
    guardian = await stack.pool.fetchrow(
        """
        SELECT g.id, g.last_name, g.first_name, g.mobile FROM guardians g
        WHERE g.mobile IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.guardian_id = g.id)
          AND NOT EXISTS (SELECT 1 FROM sms_codes c WHERE c.mobile = g.mobile)
          AND EXISTS (SELECT 1 FROM guardian_pupils gp WHERE gp.guardian_id = g.id)
        ORDER BY g.id DESC LIMIT 1
        """
    )
    assert guardian is not None, "no demo guardian without an account"
    birthdates = [
        r["birthdate"]
        for r in await stack.pool.fetch(
            "SELECT p.birthdate FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id WHERE gp.guardian_id = $1",
            guardian["id"],
        )
    ]
    return guardian, birthdates


def as_typed(e164: str) -> str:
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


async def test_demo_guardian_registers_by_sms_then_signs_in(stack, sms_gateway):
    guardian, birthdates = await a_demo_guardian_without_account(stack)
    outbox = SmsOutbox(sms_gateway.outbox_path)
    async with stack.http() as http:
        started = await http.post(
            "/registration",
            json={
                "last_name": guardian["last_name"].upper(),
                "first_name": guardian["first_name"],
                "mobile": as_typed(guardian["mobile"]),
            },
        )
        assert started.status_code == 201, started.text
        rid = started.json()["registration_id"]

        [sms] = await outbox.wait_for(guardian["mobile"], 1, timeout=30)
        code = code_in(sms)
        assert sms["text"].startswith(f"Votre code EduConnect est {code}.")
        after_code = await http.post(f"/registration/{rid}/code", json={"code": code})
        assert after_code.status_code == 200, after_code.text
        assert after_code.json()["step"] == "birthdate"

        after_birthdate = await http.post(
            f"/registration/{rid}/birthdate", json={"birthdate": birthdates[0].isoformat()}
        )
        assert after_birthdate.status_code == 200, after_birthdate.text
        assert after_birthdate.json()["step"] == "password"

        done = await http.post(
            f"/registration/{rid}/password",
            json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "signed_in"
        identifier = done.json()["identifier"]
        assert identifier in done.json()["message"]

        # Signed in: the portal lists the children of the guardian record.
        home = await http.get("/portal")
        assert home.status_code == 200, home.text
        assert len(home.json()["children"]) == len(birthdates)

        signed_out = await http.post("/sign-out")
        assert signed_out.status_code == 200
        http.cookies.clear()
        assert (await http.get("/portal")).status_code == 401

        signed_in = await http.post(
            "/sign-in", json={"identifier": identifier, "password": NEW_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["status"] == "signed_in"

    account = await stack.pool.fetchrow(
        "SELECT state, mobile, mobile_verified_at FROM accounts WHERE identifier = $1", identifier
    )
    assert account["state"] == "active" and account["mobile"] == guardian["mobile"]
    assert account["mobile_verified_at"] is not None

    handle = stack.temporal.get_workflow_handle_for(SmsRegistrationWorkflow.run, workflow_id(rid))
    assert (await handle.result()).step == "completed"
    history = (await handle.fetch_history()).to_json()
    assert code not in history and NEW_PASSWORD not in history
