"""Side effects of the pupil activation process (DESIGN §3.4, FAQ 2.4).

The rest is shared with the guardian's activation: `AccountActivities`
(begin / complete / abandon) and the confirmation link of `activities.email_links`.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.email_links import send_confirmation_link
from educonnect.emails import pupil_activation as pupil_emails
from educonnect.models.activation import BirthdateCheck, LinkRequest, LinkSent
from educonnect.models.pupil_activation import ActivateWithoutEmail


class PupilActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def check_pupil_birthdate(self, check: BirthdateCheck) -> bool:
        """True when the pupil of this account was born on that date (school records)."""
        return await self._pool.fetchval(
            """
            SELECT EXISTS (
                SELECT 1 FROM accounts a JOIN pupils p ON p.id = a.pupil_id
                WHERE a.id = $1 AND a.kind = 'pupil' AND p.birthdate = $2)
            """,
            check.account_id,
            check.birthdate,
        )

    @activity.defn
    async def send_pupil_activation_link(self, request: LinkRequest) -> LinkSent:
        """The confirmation link for the address the pupil gave, at most once per step."""
        return await send_confirmation_link(self._pool, request, pupil_emails.PUPIL)

    @activity.defn
    async def activate_without_email(self, request: ActivateWithoutEmail) -> None:
        """The pupil gave no address (or gave up confirming it): the new password
        takes effect, the provisional one dies, unused links of the process die.
        Running it twice changes nothing."""
        async with self._pool.acquire() as conn, conn.transaction():
            pending = await conn.fetchval(
                "DELETE FROM pending_passwords WHERE account_id = $1 AND process_id = $2 RETURNING password_hash",
                request.account_id,
                request.process_id,
            )
            await conn.execute(
                "UPDATE email_links SET revoked_at = now() "
                "WHERE process_id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                request.process_id,
            )
            if pending is None:
                state = await conn.fetchval(
                    "SELECT state FROM accounts WHERE id = $1", request.account_id
                )
                if state == "active":  # already done by an earlier attempt
                    return
                raise ApplicationError(
                    "no pending password for this activation",
                    type="pending_password_missing",
                    non_retryable=True,
                )
            await conn.execute(
                """
                UPDATE accounts SET state = 'active', password_hash = $2, activated_at = now(),
                    provisional_password_hash = NULL, provisional_expires_at = NULL, updated_at = now()
                WHERE id = $1
                """,
                request.account_id,
                pending,
            )
