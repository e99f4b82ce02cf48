"""SMS self-registration's rows (DESIGN §3.2): the guardian record a
registration matches, and the password waiting for the account (table
`registrations`: its hash, never in Temporal) until the workflow creates it."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.identifiers import normalize_name
from educonnect.passwords import hash_password_async


async def matching_guardian(
    conn: asyncpg.Pool | asyncpg.Connection, last: str, first: str, mobile: str
) -> uuid.UUID | None:
    """The guardian record with this mobile and these names (accent- and
    case-insensitive). Same query and work whether or not one matches. When
    several records match, one that has an account wins (its owner is told)."""
    rows = await conn.fetch(
        "SELECT g.id, g.last_name, g.first_name FROM guardians g LEFT JOIN accounts a ON a.guardian_id = g.id "
        "WHERE g.mobile = $1 ORDER BY (a.id IS NULL), g.id",
        mobile,
    )
    found = None
    for row in rows:  # every row is examined, match or not
        if (
            normalize_name(row["last_name"]) == last
            and normalize_name(row["first_name"]) == first
            and found is None
        ):
            found = row["id"]
    return found


async def keep_password(
    conn: asyncpg.Pool | asyncpg.Connection, process_id: str, guardian_id: uuid.UUID, password: str
) -> None:
    """Hash `password` and keep it for the registration `process_id` (replacing
    one kept before), unless the registration already completed."""
    await conn.execute(
        """
        INSERT INTO registrations (process_id, guardian_id, password_hash) VALUES ($1, $2, $3)
        ON CONFLICT (process_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = now()
            WHERE registrations.completed_at IS NULL
        """,
        process_id,
        guardian_id,
        await hash_password_async(password),
    )


async def forget_password(conn: asyncpg.Pool | asyncpg.Connection, process_id: str) -> None:
    """The workflow refused the password: it is not kept (unless the account exists)."""
    await conn.execute(
        "DELETE FROM registrations WHERE process_id = $1 AND completed_at IS NULL", process_id
    )
