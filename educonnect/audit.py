"""The append-only audit log (DESIGN §4: staff actions are audited).

Every staff action, accepted or refused, and every correction of a school
record is one row of `audit_log`. PostgreSQL refuses UPDATE, DELETE and
TRUNCATE on that table (trigger in migration 0002).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
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
