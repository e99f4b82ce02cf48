"""Birthdate correction requests as staff read and answer them (DESIGN §3.7):
the queue of a staff member's scope, one request with its pupil, requesters
and messages, and the messages staff write (a rejection's reason, a
question). The staff API calls these; scope checks and the audit stay with
the caller."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.staff import StaffMember

_QUEUE_ORDER = (
    "CASE WHEN r.status IN ('awaiting_review', 'escalated') THEN 0 "
    "WHEN r.status = 'awaiting_information' THEN 1 ELSE 2 END, r.created_at, r.id"
)


async def queue(
    conn: asyncpg.Pool | asyncpg.Connection, member: StaffMember, step: str | None, limit: int
) -> list[asyncpg.Record]:
    """The requests of `member`'s scope (optionally at one step): waiting on
    staff first, then waiting on the requester, then closed; oldest first."""
    scope, value = member.scope_sql("r.uai", "r.academie")
    return await conn.fetch(
        f"""
        SELECT r.id, r.status, r.escalated, r.created_at, r.updated_at, r.proposed_birthdate, r.uai,
               s.name AS school_name, p.first_name, p.last_name, p.class_name,
               (SELECT count(*) FROM correction_participants cp WHERE cp.request_id = r.id) AS requesters
        FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id JOIN schools s ON s.uai = r.uai
        WHERE {scope} AND ($2::text IS NULL OR r.status = $2)
        ORDER BY {_QUEUE_ORDER} LIMIT $3
        """,
        value,
        step,
        limit,
    )


async def request(
    conn: asyncpg.Pool | asyncpg.Connection, request_id: uuid.UUID
) -> asyncpg.Record | None:
    """The request with its pupil (names, class, birthdate on record), school
    and the name of who decided it."""
    return await conn.fetchrow(
        """
        SELECT r.*, p.first_name, p.last_name, p.class_name, p.level, p.birthdate, s.name AS school_name,
               d.display_name AS decided_by_name
        FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id JOIN schools s ON s.uai = r.uai
        LEFT JOIN staff_accounts d ON d.id = r.decided_by
        WHERE r.id = $1
        """,
        request_id,
    )


async def participants(
    conn: asyncpg.Pool | asyncpg.Connection, request_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Who asked, first filed first, with their account's identifier (if any)."""
    return await conn.fetch(
        "SELECT cp.*, a.identifier FROM correction_participants cp LEFT JOIN accounts a ON a.id = cp.account_id "
        "WHERE cp.request_id = $1 ORDER BY cp.created_at, cp.id",
        request_id,
    )


async def messages(
    conn: asyncpg.Pool | asyncpg.Connection, request_id: uuid.UUID
) -> list[asyncpg.Record]:
    """The request's messages in order, with the staff member's or the requester's name."""
    return await conn.fetch(
        """
        SELECT m.created_at, m.kind, m.body, sa.display_name AS staff_name, cp.requester_name
        FROM correction_messages m LEFT JOIN staff_accounts sa ON sa.id = m.staff_id
        LEFT JOIN correction_participants cp ON cp.id = m.participant_id
        WHERE m.request_id = $1 ORDER BY m.created_at, m.id
        """,
        request_id,
    )


async def add_staff_message(
    conn: asyncpg.Connection,
    message_id: uuid.UUID,
    request_id: uuid.UUID,
    kind: str,
    member: StaffMember,
    body: str,
) -> None:
    """A message staff write on the request: a rejection's `reason` or a `question`."""
    await conn.execute(
        "INSERT INTO correction_messages (id, request_id, kind, staff_id, body) VALUES ($1, $2, $3, $4, $5)",
        message_id,
        request_id,
        kind,
        member.id,
        body,
    )
