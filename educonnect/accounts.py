"""An account as the family's own pages show it (portal, "Gérer mon compte",
sign-in): its holder and addresses, and the children it reaches. The API
calls these; who may read what stays with the caller (the session)."""

from __future__ import annotations

import uuid

import asyncpg


async def holder(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID
) -> asyncpg.Record | None:
    """The account (identifier, kind, state, email and mobile with whether
    each is verified) and its holder's names (the guardian's or the pupil's)."""
    return await conn.fetchrow(
        """
        SELECT a.identifier, a.kind, a.state, a.email, a.email_verified_at IS NOT NULL AS email_verified,
               a.mobile, a.mobile_verified_at IS NOT NULL AS mobile_verified,
               coalesce(g.first_name, p.first_name) AS first_name, coalesce(g.last_name, p.last_name) AS last_name
        FROM accounts a
        LEFT JOIN guardians g ON g.id = a.guardian_id
        LEFT JOIN pupils p ON p.id = a.pupil_id
        WHERE a.id = $1
        """,
        account_id,
    )


async def still_provisioned(conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID) -> bool:
    """The account's activation has not begun ("Gérer mon compte" not accepted yet)."""
    return bool(
        await conn.fetchval("SELECT state = 'provisioned' FROM accounts WHERE id = $1", account_id)
    )


async def email_state(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID
) -> asyncpg.Record | None:
    """The account's `email` and whether it is `verified`."""
    return await conn.fetchrow(
        "SELECT email, email_verified_at IS NOT NULL AS verified FROM accounts WHERE id = $1",
        account_id,
    )


async def children(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID
) -> list[asyncpg.Record]:
    """The pupils the account reaches (a guardian's children but those they
    said are not theirs, awaiting the school; a pupil: themself), with their
    school, youngest last."""
    return await conn.fetch(
        """
        SELECT p.id, p.first_name, p.last_name, p.class_name, p.level, p.birthdate,
               s.uai, s.name AS school_name, s.kind AS school_kind, s.degree, s.city
        FROM accounts a
        JOIN pupils p ON p.id = a.pupil_id
                      OR p.id IN (SELECT gp.pupil_id FROM guardian_pupils gp
                                   WHERE gp.guardian_id = a.guardian_id AND gp.disputed_at IS NULL)
        JOIN schools s ON s.uai = p.uai
        WHERE a.id = $1
        ORDER BY p.birthdate, p.first_name
        """,
        account_id,
    )


async def guardian_of(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID
) -> asyncpg.Record | None:
    """A guardian's account: the school record's `id`, names, `email` and
    `mobile`, and the account's own address (`account_email`); None for a
    pupil's account."""
    return await conn.fetchrow(
        "SELECT g.id, a.email AS account_email, g.first_name, g.last_name, g.email, g.mobile "
        "FROM accounts a JOIN guardians g ON g.id = a.guardian_id WHERE a.id = $1",
        account_id,
    )


async def pupil_of(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID
) -> asyncpg.Record | None:
    """A pupil's account: the pupil's `id`, names and school, and the
    account's `email`; None for a guardian's account."""
    return await conn.fetchrow(
        "SELECT p.id, p.first_name, p.last_name, s.name AS school_name, a.email FROM accounts a "
        "JOIN pupils p ON p.id = a.pupil_id JOIN schools s ON s.uai = p.uai WHERE a.id = $1",
        account_id,
    )
