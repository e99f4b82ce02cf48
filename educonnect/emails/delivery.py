"""Send an email at most once per idempotency key (table `sent_emails`).

Used by the activities (every notice of a process) and by the API (a staff
member's answer to a ticket): a retry, or a second caller with the same key,
finds the email already sent and sends nothing."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.emails import Email
from educonnect.emails.sender import send_email


async def send_email_once(
    db: asyncpg.Pool | asyncpg.Connection,
    key: str,
    email: Email,
    template: str,
    account_id: uuid.UUID | None = None,
) -> bool:
    """Send `email` unless the email of `key` already went out; True when sent now.

    The `sent_emails` row is locked while sending, so two concurrent callers
    with the same key do not both send; if sending fails the row is rolled
    back and a later call sends again. `db`: a pool, or a connection (then
    inside its transaction, as a savepoint, when one is open)."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await send_email_once(conn, key, email, template, account_id)
    async with db.transaction():
        await db.execute(
            "INSERT INTO sent_emails (idempotency_key, account_id, to_address, subject, template) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING",
            key,
            account_id,
            email.to,
            email.subject,
            template,
        )
        sent_at = await db.fetchval(
            "SELECT sent_at FROM sent_emails WHERE idempotency_key = $1 FOR UPDATE", key
        )
        if sent_at is not None:
            return False
        await send_email(email)
        await db.execute("UPDATE sent_emails SET sent_at = now() WHERE idempotency_key = $1", key)
    return True
