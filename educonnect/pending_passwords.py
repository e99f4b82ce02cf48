"""New passwords waiting for their process (table `pending_passwords`): a
password never enters Temporal. The API checks and hashes it and keeps the
hash here under the process's id; the process makes it effective (or lets it
go) and the nightly housekeeping removes what no process will use."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.passwords import hash_password_async


async def keep(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID, process_id: str, password: str
) -> None:
    """Hash `password` and keep it for the process `process_id`; a password
    kept before for the same process is replaced."""
    await conn.execute(
        """
        INSERT INTO pending_passwords (account_id, process_id, password_hash) VALUES ($1, $2, $3)
        ON CONFLICT (account_id, process_id) DO UPDATE SET password_hash = excluded.password_hash, created_at = now()
        """,
        account_id,
        process_id,
        await hash_password_async(password),
    )
