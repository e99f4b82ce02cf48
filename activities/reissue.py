"""Side effects of the reissue of provisional credentials by staff (DESIGN §2).

One transaction does it all, so that a crash leaves either nothing or
everything: the account row is locked and checked again, a new provisional
password is generated and hashed (valid 3 months), the old credentials, the
account's sessions, its unused activation links, a password it parked during
an activation and its old printable letter all stop working, the account is
back to 'provisioned' (its owner activates it again with the new password),
and the new credentials go out: the notification email (FAQ 2.2) when asked
and possible, a printable letter otherwise. The request row records the
delivery: a retry after the commit does nothing again; a retry after a crash
before the commit starts over with another password (nobody saw the first).
The password lives only in this activity's memory, the email and the letter.

For a guardian of the school records who has no account yet, the same request
creates the provisioned account (identifier from the names, provisional
password, the school's email and mobile) and delivers its first credentials.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from educonnect import audit, letters, reissue, sessions, sign_in_limits
from educonnect.models.reissue import ReissueOutcome, ReissueRef
from educonnect.passwords import generate_provisional_password, hash_password_async
from educonnect.policies import PROVISIONAL_CREDENTIALS_VALIDITY
from educonnect.provisioning import (
    find_school,
    letter_content,
    provision_guardian_account,
    send_account_notification,
)

log = logging.getLogger(__name__)

_ACCOUNT = """
    SELECT id, kind, identifier, state, email, email_verified_at, mobile_verified_at
    FROM accounts WHERE id = $1 FOR UPDATE
"""


def reissue_key(reissue_id) -> str:
    return f"credentials-reissue/{reissue_id}"


class ReissueActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn
    async def issue_credentials(self, ref: ReissueRef) -> ReissueOutcome:
        async with self._pool.acquire() as conn, conn.transaction():
            request = await conn.fetchrow(
                "SELECT * FROM credential_reissues WHERE id = $1 FOR UPDATE", ref.reissue_id
            )
            if request is None:
                raise ApplicationError(
                    f"no reissue {ref.reissue_id}", type="reissue_unknown", non_retryable=True
                )
            if request["delivered_at"] is not None:  # done by an earlier attempt
                return ReissueOutcome(
                    account_id=request["account_id"],
                    created=request["guardian_id"] is not None,
                    channel=request["channel"],
                    kind=await conn.fetchval(
                        "SELECT kind FROM accounts WHERE id = $1", request["account_id"]
                    ),
                    was_activating=request["activation_started"],
                )
            new_account = None
            account_id = request["account_id"]
            if account_id is None:  # a guardian's first account
                new_account = await provision_guardian_account(
                    conn, request["guardian_id"], now=datetime.now(UTC)
                )
                account_id = new_account.account_id
            account = await conn.fetchrow(_ACCOUNT, account_id)

            if new_account is not None and new_account.created:
                password, was_activating, action = (
                    new_account.provisional_password,
                    False,
                    "account.staff_create",
                )
            else:  # replace the credentials of an existing account
                code = reissue.refusal(account)
                if code is not None:  # the account changed since staff asked (activated, merged)
                    return ReissueOutcome(
                        refusal=code, account_id=account["id"], kind=account["kind"]
                    )
                was_activating = await sessions.activation_may_be_running(
                    conn, account["id"], account["state"]
                )
                password, action = (
                    await self._replace_credentials(conn, account),
                    "account.credentials_reissue",
                )
            created = new_account is not None and new_account.created
            channel, pdf = await self._deliver(
                conn, request, account, password, reissued=not created
            )
            await conn.execute(
                "UPDATE credential_reissues SET account_id = $2, channel = $3, pdf = $4, delivered_at = now(), "
                "activation_started = $5 WHERE id = $1",
                ref.reissue_id,
                account["id"],
                channel,
                pdf,
                was_activating,
            )
            await audit.record(
                conn, audit.Actor("staff", request["staff_id"], request["staff_label"]), action, "account", account["id"],
                details={"identifier": account["identifier"], "uai": request["uai"], "channel": channel,
                         "previous_state": None if created else account["state"], "reissue_id": str(ref.reissue_id)},
                idempotency_key=reissue_key(ref.reissue_id),
            )  # fmt: skip
            log.info("%s for %s (%s)", action, account["identifier"], channel)
            return ReissueOutcome(
                account_id=account["id"], created=created, channel=channel, kind=account["kind"],
                was_activating=was_activating,
            )  # fmt: skip

    async def _replace_credentials(self, conn: asyncpg.Connection, account: asyncpg.Record) -> str:
        """A new provisional password for the account, back to 'provisioned';
        everything the old credentials opened stops working."""
        password = generate_provisional_password()
        await conn.execute(
            """
            UPDATE accounts SET state = 'provisioned', password_hash = NULL, provisional_password_hash = $2,
                provisional_expires_at = $3, activated_at = NULL, updated_at = now()
            WHERE id = $1
            """,
            account["id"],
            await hash_password_async(password),
            datetime.now(UTC) + PROVISIONAL_CREDENTIALS_VALIDITY,
        )
        await self._end_old_access(conn, account)
        return password

    async def _end_old_access(self, conn: asyncpg.Connection, account: asyncpg.Record) -> None:
        """Everything the old credentials opened stops working."""
        await sessions.revoke_all(conn, account["id"])
        processes = [f"activation/{account['id']}", f"pupil-activation/{account['id']}"]
        await conn.execute(
            "UPDATE email_links SET revoked_at = now() WHERE process_id = ANY($1) AND used_at IS NULL AND revoked_at IS NULL",
            processes,
        )
        await conn.execute("DELETE FROM pending_passwords WHERE account_id = $1", account["id"])
        await conn.execute("DELETE FROM provisioning_letters WHERE account_id = $1", account["id"])
        await sign_in_limits.unlock(conn, account["id"])  # failure counters (and a lock) go

    async def _deliver(
        self,
        conn: asyncpg.Connection,
        request: asyncpg.Record,
        account: asyncpg.Record,
        password: str,
        *,
        reissued: bool,
    ) -> tuple[str, bytes | None]:
        # Email only to the address the school gave for an account never
        # activated (or one its owner confirmed); otherwise a letter handed out.
        trusted_email = account["email"] and (
            account["state"] in reissue.NOT_ACTIVATED or account["email_verified_at"]
        )
        if request["wanted_channel"] == "auto" and trusted_email:
            await send_account_notification(
                conn,
                account["id"],
                password,
                idempotency_key=reissue_key(request["id"]),
                reissued=reissued,
            )
            return "email", None
        school = await find_school(conn, request["uai"])
        assert school is not None  # the school of a staff member's request
        content, _, _ = await letter_content(
            conn, account["id"], password, school, reissued=reissued
        )
        return "letter", await asyncio.to_thread(letters.render, content)
