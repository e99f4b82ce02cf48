"""No token in any log, end to end on the dev server: a guardian activates
(confirmation link) and then resets the password by email link; the API's
and the worker's log files hold the requests, never a token, a password or
the `jeton` query (`api.access_log`)."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.test_activation_e2e import (
    a_notified_guardian,
    confirmations,
    sign_in_and_fill_profile,
)
from tests.support.mail import Mailbox, link_in, token_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_PASSWORD, RESET_PASSWORD = "Hirondelle26q", "Mesange2027w"
GUARDIAN_INDEX = 10  # a demo guardian no other end-to-end test picks


async def log_text(stack, must_hold: str) -> str:
    """Every log file of the stack, once the API's has written `must_hold`."""
    for _ in range(100):
        if must_hold in (stack.log_dir / "api.log").read_text(errors="replace"):
            break
        await asyncio.sleep(0.05)
    return "\n".join(
        path.read_text(errors="replace") for path in sorted(stack.log_dir.glob("*.log"))
    )


async def test_no_token_in_the_logs_after_an_activation_and_a_reset_by_link(
    stack, mailbox: Mailbox
):
    email, identifier, provisional, birthdate = await a_notified_guardian(
        stack, mailbox, GUARDIAN_INDEX
    )
    secrets = {provisional, NEW_PASSWORD, RESET_PASSWORD}
    async with stack.http() as http:
        # Activation: the confirmation link, opened then confirmed.
        await sign_in_and_fill_profile(
            http, identifier, provisional, birthdate, NEW_PASSWORD, email
        )
        await mailbox.wait_for(email, 2)
        [confirmation] = confirmations(mailbox, email)
        activation_token = token_of(link_in(confirmation))
        page = await http.get(link_in(confirmation))
        assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
        done = await http.post("/activation/confirmation", data={"jeton": activation_token})
        assert done.status_code == 200 and "Compte activé" in done.text, done.text

        # Lost password by email link.
        before = len(mailbox.to(email))
        asked = await http.post(
            "/recovery/password/email", json={"identifier": identifier, "email": email}
        )
        assert asked.status_code == 202, asked.text
        link = link_in((await mailbox.wait_for(email, before + 1, timeout=30))[before])
        reset_token = token_of(link)
        form = await http.get(link)
        assert form.status_code == 200 and form.headers["referrer-policy"] == "no-referrer"
        reset = await http.post(
            "/recovery/password/link",
            data={
                "jeton": reset_token,
                "password": RESET_PASSWORD,
                "password_confirmation": RESET_PASSWORD,
            },
        )
        assert reset.status_code == 200 and "Mot de passe modifié" in reset.text, reset.text
    assert len(activation_token) >= 22 and len(reset_token) >= 22

    logs = await log_text(stack, '"POST /recovery/password/link HTTP/1.1" 200')
    # The requests are in the access log, by their path only.
    assert '"GET /activation/confirmation HTTP/1.1" 200' in logs
    assert '"POST /activation/confirmation HTTP/1.1" 200' in logs
    assert '"GET /recovery/password/link HTTP/1.1" 200' in logs
    assert '"POST /recovery/password/link HTTP/1.1" 200' in logs
    for secret in (activation_token, reset_token, *secrets):
        assert secret not in logs
    assert "jeton=" not in logs
