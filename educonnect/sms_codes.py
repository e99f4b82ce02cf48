"""The SMS codes people type (DESIGN §4): the API keeps each one hashed, the
workflow's `check_code_submission` activity (`activities.sms_codes`) compares
it with the code it issued."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.tokens import code_hash


async def store_code_submission(
    conn: asyncpg.Connection | asyncpg.Pool, process_id: str, code: str
) -> uuid.UUID:
    """API side: keep the HMAC of a code the person typed; return the row id to
    send to the workflow (`CodeSubmission(submission_id=...)`)."""
    submission_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO sms_code_submissions (id, process_id, code_hash) VALUES ($1, $2, $3)",
        submission_id,
        process_id,
        code_hash(code, salt=process_id),
    )
    return submission_id


async def accepted_code_mobile(
    conn: asyncpg.Connection | asyncpg.Pool, process_id: str
) -> str | None:
    """The number the process's latest accepted code went to (the person
    proved it is theirs), or None when no code was accepted."""
    return await conn.fetchval(
        "SELECT mobile FROM sms_codes WHERE process_id = $1 AND used_at IS NOT NULL ORDER BY used_at DESC LIMIT 1",
        process_id,
    )
