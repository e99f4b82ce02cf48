"""Families' accounts as staff find them (DESIGN §2): the pupils of a staff
member's scope matching a name, their guardians, the accounts of both, and
the schools through which a staff member may act for a pupil or a guardian.
The staff API calls these; scope checks and the audit stay with the caller."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.staff import StaffMember

# What the staff views and `educonnect.reissue.refusal` read of an account.
ACCOUNT_COLUMNS = "id, identifier, kind, state, email, email_verified_at, mobile_verified_at, provisional_expires_at"


async def pupils_matching(
    conn: asyncpg.Pool | asyncpg.Connection, member: StaffMember, word_start: str, limit: int
) -> list[asyncpg.Record]:
    """Pupils of `member`'s scope whose name, or a guardian's name, matches the
    regular expression `word_start` (folded: no accents, lower case)."""
    scope, value = member.scope_sql("p.uai", "s.academie")
    return await conn.fetch(
        f"""
        SELECT p.id, p.last_name, p.first_name, p.class_name, p.uai
        FROM pupils p JOIN schools s ON s.uai = p.uai
        WHERE {scope} AND (
            edu_fold(p.last_name || ' ' || p.first_name) ~ $2 OR edu_fold(p.first_name || ' ' || p.last_name) ~ $2
            OR EXISTS (SELECT 1 FROM guardian_pupils gp JOIN guardians g ON g.id = gp.guardian_id
                       WHERE gp.pupil_id = p.id AND (edu_fold(g.last_name || ' ' || g.first_name) ~ $2
                                                      OR edu_fold(g.first_name || ' ' || g.last_name) ~ $2)))
        ORDER BY edu_fold(p.last_name), edu_fold(p.first_name), p.id
        LIMIT {int(limit)}
        """,
        value,
        word_start,
    )


async def guardians_of(
    conn: asyncpg.Pool | asyncpg.Connection, pupil_ids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    """The guardians of these pupils, one row per pupil and guardian (`pupil_id`, guardian's `id`)."""
    return await conn.fetch(
        "SELECT gp.pupil_id, g.id, g.last_name, g.first_name FROM guardian_pupils gp JOIN guardians g ON g.id = gp.guardian_id "
        "WHERE gp.pupil_id = ANY($1) ORDER BY g.last_name, g.first_name",
        pupil_ids,
    )


async def accounts_of(
    conn: asyncpg.Pool | asyncpg.Connection,
    pupil_ids: list[uuid.UUID],
    guardian_ids: list[uuid.UUID],
) -> list[asyncpg.Record]:
    """The accounts of these pupils and guardians (with `pupil_id`, `guardian_id`)."""
    return await conn.fetch(
        f"SELECT {ACCOUNT_COLUMNS}, pupil_id, guardian_id FROM accounts WHERE pupil_id = ANY($1) OR guardian_id = ANY($2)",
        pupil_ids,
        guardian_ids,
    )


async def account(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS}, pupil_id, guardian_id FROM accounts WHERE id = $1", account_id
    )


async def schools_of(
    conn: asyncpg.Pool | asyncpg.Connection,
    *,
    pupil_id: uuid.UUID | None,
    guardian_id: uuid.UUID | None,
) -> list[asyncpg.Record]:
    """The schools (`uai`, `academie`) of the pupil, or of the guardian's children."""
    return await conn.fetch(
        """
        SELECT DISTINCT s.uai, s.academie FROM pupils p JOIN schools s ON s.uai = p.uai
        WHERE p.id = $1 OR p.id IN (SELECT pupil_id FROM guardian_pupils WHERE guardian_id = $2)
        ORDER BY s.uai
        """,
        pupil_id,
        guardian_id,
    )


async def guardian_has_account(
    conn: asyncpg.Pool | asyncpg.Connection, guardian_id: uuid.UUID
) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM accounts WHERE guardian_id = $1", guardian_id))


async def guardian_email(
    conn: asyncpg.Pool | asyncpg.Connection, guardian_id: uuid.UUID
) -> str | None:
    """The address the school gave for the guardian (school records)."""
    return await conn.fetchval("SELECT email FROM guardians WHERE id = $1", guardian_id)
