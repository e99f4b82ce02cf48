"""The append-only audit log (DESIGN §4: staff actions are audited).

Every staff action, accepted or refused, and every correction of a school
record is one row of `audit_log`. PostgreSQL refuses UPDATE, DELETE and
TRUNCATE on that table (trigger in migration 0002).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

ACCEPTED = "accepted"
REFUSED = "refused"


@dataclass(frozen=True)
class Actor:
    kind: str  # 'staff' | 'family' | 'system' | 'anonymous' (a refused call, migration 0024)
    id: uuid.UUID | None
    label: str


SYSTEM = Actor("system", None, "Plateforme EduConnect")


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    actor: Actor,
    action: str,
    target_kind: str,
    target_id: str | uuid.UUID,
    *,
    outcome: str = ACCEPTED,
    details: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> None:
    """Append one entry. With an `idempotency_key` (activities), a retry adds nothing."""
    await conn.execute(
        """
        INSERT INTO audit_log (actor_kind, actor_id, actor_label, action, target_kind, target_id,
                               outcome, details, idempotency_key)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
        ON CONFLICT (idempotency_key) DO NOTHING
        """,
        actor.kind,
        actor.id,
        actor.label,
        action,
        target_kind,
        str(target_id),
        outcome,
        json.dumps(details or {}, default=str, ensure_ascii=False),
        idempotency_key,
    )


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor_kind: str
    actor_id: uuid.UUID | None
    actor_label: str
    action: str
    target_kind: str
    target_id: str
    outcome: str
    details: dict[str, Any]


def _entry(row: asyncpg.Record) -> Entry:
    details = row["details"]
    return Entry(
        id=row["id"],
        at=row["at"],
        actor_kind=row["actor_kind"],
        actor_id=row["actor_id"],
        actor_label=row["actor_label"],
        action=row["action"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        outcome=row["outcome"],
        details=json.loads(details) if isinstance(details, str) else dict(details or {}),
    )


async def entries_for(
    conn: asyncpg.Connection | asyncpg.Pool, targets: list[tuple[str, str]], limit: int = 500
) -> list[Entry]:
    """Entries about any of `targets` ((kind, id) pairs), oldest first."""
    if not targets:
        return []
    rows = await conn.fetch(
        """
        SELECT * FROM audit_log
        WHERE (target_kind, target_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        ORDER BY at, id LIMIT $3
        """,
        [k for k, _ in targets],
        [str(i) for _, i in targets],
        limit,
    )
    return [_entry(r) for r in rows]


# --- académie support's read-only view (issue 13, item 8) ----------------------------------------

# Where an entry belongs: its staff author's school and académie, else its
# target's (a correction request, a ticket, a dispute, a pupil).
_PLACED = """
    SELECT l.*, coalesce(cr.uai, t.uai, d.uai, p.uai, sa.uai) AS uai,
           coalesce(cr.academie, t.academie, d.academie, ps.academie, sa.academie) AS academie
    FROM audit_log l
    LEFT JOIN staff_accounts sa ON l.actor_kind = 'staff' AND sa.id = l.actor_id
    LEFT JOIN correction_requests cr ON l.target_kind = 'correction_request' AND cr.id::text = l.target_id
    LEFT JOIN assistance_tickets t ON l.target_kind = 'ticket' AND t.id::text = l.target_id
    LEFT JOIN attachment_disputes d ON l.target_kind = 'attachment_dispute' AND d.id::text = l.target_id
    LEFT JOIN pupils p ON l.target_kind = 'pupil' AND p.id::text = l.target_id
    LEFT JOIN schools ps ON ps.uai = p.uai
"""


@dataclass(frozen=True)
class Filters:
    staff_id: uuid.UUID | None = None
    uai: str | None = None
    action: str | None = None
    since: date | None = None  # from this day (Paris), included
    until: date | None = None  # to this day (Paris), included


async def search(
    conn: asyncpg.Connection | asyncpg.Pool, academie: str, filters: Filters, limit: int = 200
) -> list[tuple[Entry, str | None]]:
    """The entries of an académie (by its staff, or about its schools' requests,
    tickets, disputes and pupils), newest first, with the school each concerns."""
    rows = await conn.fetch(
        f"""
        SELECT * FROM ({_PLACED}) placed
        WHERE academie = $1
          AND ($2::uuid IS NULL OR actor_id = $2)
          AND ($3::text IS NULL OR uai = $3)
          AND ($4::text IS NULL OR action = $4)
          AND ($5::date IS NULL OR at >= ($5::date::timestamp AT TIME ZONE 'Europe/Paris'))
          AND ($6::date IS NULL OR at < (($6::date + 1)::timestamp AT TIME ZONE 'Europe/Paris'))
        ORDER BY at DESC, id DESC LIMIT $7
        """,
        academie,
        filters.staff_id,
        filters.uai,
        filters.action,
        filters.since,
        filters.until,
        limit,
    )
    return [(_entry(r), r["uai"]) for r in rows]


async def actions_of(conn: asyncpg.Connection | asyncpg.Pool, academie: str) -> list[str]:
    """The actions the académie's entries hold (the log's action filter)."""
    rows = await conn.fetch(
        f"SELECT DISTINCT action FROM ({_PLACED}) placed WHERE academie = $1 ORDER BY action",
        academie,
    )
    return [r["action"] for r in rows]


async def schools_of(
    conn: asyncpg.Connection | asyncpg.Pool, academie: str
) -> list[asyncpg.Record]:
    """The académie's schools (the log's school filter)."""
    return await conn.fetch(
        "SELECT uai, name FROM schools WHERE academie = $1 ORDER BY name, uai", academie
    )
