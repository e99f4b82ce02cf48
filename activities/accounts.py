"""Account state changes of the processes (PostgreSQL)."""

from __future__ import annotations

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from educonnect.models.activation import AbandonActivation, BeginActivation, CompleteActivation


class AccountActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def begin_activation(self, request: BeginActivation) -> None:
        """Profile accepted: the account is now being activated.

        The new password's hash must already wait in `pending_passwords` (the API
        stores it before it sends the profile to the workflow)."""
        async with self._pool.acquire() as conn, conn.transaction():
            pending = await conn.fetchval(
                "SELECT 1 FROM pending_passwords WHERE account_id = $1 AND process_id = $2",
                request.account_id,
                request.process_id,
            )
            if not pending:
                raise ApplicationError(
                    "no pending password for this activation",
                    type="pending_password_missing",
                    non_retryable=True,
                )
            await conn.execute(
                "UPDATE accounts SET state = 'activating', updated_at = now() "
                "WHERE id = $1 AND state IN ('provisioned', 'activating')",
                request.account_id,
            )

    @activity.defn
    async def complete_activation(self, request: CompleteActivation) -> None:
        """The link was clicked: the new password and the confirmed address take
        effect, the provisional password dies. Running it twice changes nothing."""
        async with self._pool.acquire() as conn, conn.transaction():
            link = await conn.fetchrow(
                "SELECT email FROM email_links WHERE id = $1 AND account_id = $2 AND process_id = $3",
                request.link_id,
                request.account_id,
                request.process_id,
            )
            if link is None:
                raise ApplicationError(
                    "unknown confirmation link", type="link_unknown", non_retryable=True
                )
            pending = await conn.fetchval(
                "DELETE FROM pending_passwords WHERE account_id = $1 AND process_id = $2 RETURNING password_hash",
                request.account_id,
                request.process_id,
            )
            await conn.execute(
                "UPDATE email_links SET used_at = coalesce(used_at, now()) WHERE id = $1",
                request.link_id,
            )
            await conn.execute(
                "UPDATE email_links SET revoked_at = now() "
                "WHERE process_id = $1 AND id <> $2 AND used_at IS NULL AND revoked_at IS NULL",
                request.process_id,
                request.link_id,
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
                UPDATE accounts SET state = 'active', password_hash = $2, email = $3,
                    email_verified_at = now(), activated_at = now(),
                    provisional_password_hash = NULL, provisional_expires_at = NULL, updated_at = now()
                WHERE id = $1
                """,
                request.account_id,
                pending,
                link["email"],
            )

    @activity.defn
    async def abandon_activation(self, request: AbandonActivation) -> None:
        """The process expired: its links expire, the typed password is forgotten, and
        the provisional credentials work again for a later attempt."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE email_links SET expires_at = least(expires_at, now()) "
                "WHERE process_id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                request.process_id,
            )
            await conn.execute(
                "DELETE FROM pending_passwords WHERE account_id = $1 AND process_id = $2",
                request.account_id,
                request.process_id,
            )
            await conn.execute(
                "UPDATE accounts SET state = 'provisioned', updated_at = now() WHERE id = $1 AND state = 'activating'",
                request.account_id,
            )
