"""Assistance tickets (DESIGN §3.7: the questions that are not a correction):
opened by anyone from the assistance form, for a school or an académie; read
and answered by staff: the tickets of a staff member's scope, one ticket
with its replies, and a reply once it was emailed. The API calls these;
limits, scope checks and the audit stay with the caller."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.staff import StaffMember


async def school_academie(conn: asyncpg.Pool | asyncpg.Connection, uai: str) -> str | None:
    """The académie of the school `uai`, or None for an unknown school."""
    return await conn.fetchval("SELECT academie FROM schools WHERE uai = $1", uai)


async def academie_named(conn: asyncpg.Pool | asyncpg.Connection, name: str) -> str | None:
    """The académie called `name` (case aside) as the school records spell it, or None."""
    return await conn.fetchval(
        "SELECT academie FROM schools WHERE lower(academie) = lower($1) LIMIT 1", name
    )


async def academies(conn: asyncpg.Pool | asyncpg.Connection) -> list[str]:
    """The académies of the school records, as they spell them (the ticket form's list)."""
    rows = await conn.fetch("SELECT DISTINCT academie FROM schools ORDER BY academie")
    return [r["academie"] for r in rows]


async def open_ticket(
    conn: asyncpg.Pool | asyncpg.Connection,
    ticket_id: uuid.UUID,
    *,
    last_name: str,
    first_name: str,
    email: str,
    category: str,
    message: str,
    uai: str | None,
    academie: str,
) -> None:
    await conn.execute(
        "INSERT INTO assistance_tickets (id, last_name, first_name, email, category, message, uai, academie) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        ticket_id,
        last_name,
        first_name,
        email,
        category,
        message,
        uai,
        academie,
    )


async def tickets_in_scope(
    conn: asyncpg.Pool | asyncpg.Connection, member: StaffMember, limit: int
) -> list[asyncpg.Record]:
    """The tickets of `member`'s scope: unanswered first, oldest first."""
    scope, value = member.scope_sql("t.uai", "t.academie")
    return await conn.fetch(
        f"SELECT t.* FROM assistance_tickets t WHERE {scope} "
        "ORDER BY CASE WHEN t.status = 'open' THEN 0 ELSE 1 END, t.created_at, t.id LIMIT $2",
        value,
        limit,
    )


async def ticket(
    conn: asyncpg.Pool | asyncpg.Connection, ticket_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM assistance_tickets WHERE id = $1", ticket_id)


async def replies(
    conn: asyncpg.Pool | asyncpg.Connection, ticket_id: uuid.UUID
) -> list[asyncpg.Record]:
    """The ticket's replies in order, with the name of the staff member who wrote each."""
    return await conn.fetch(
        "SELECT r.created_at, r.body, s.display_name FROM assistance_ticket_replies r "
        "JOIN staff_accounts s ON s.id = r.staff_id WHERE r.ticket_id = $1 ORDER BY r.created_at, r.id",
        ticket_id,
    )


async def record_reply(
    conn: asyncpg.Connection,
    reply_id: uuid.UUID,
    ticket_id: uuid.UUID,
    member: StaffMember,
    body: str,
) -> None:
    """A reply that went out by email; the ticket is answered. Call it in a transaction."""
    await conn.execute(
        "INSERT INTO assistance_ticket_replies (id, ticket_id, staff_id, body, emailed_at) VALUES ($1, $2, $3, $4, now())",
        reply_id,
        ticket_id,
        member.id,
        body,
    )
    await conn.execute(
        "UPDATE assistance_tickets SET status = 'answered', answered_at = now() WHERE id = $1",
        ticket_id,
    )
