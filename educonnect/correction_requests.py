"""Birthdate correction requests (DESIGN §3.7) as the API reads and writes
them. Families: the filing (a request per pupil, joined by every process
that files for the same pupil while it is open, each a participant), the
requests of a process, their messages, the answers to staff's questions.
Staff: the queue of a staff member's scope, one request with its pupil,
requesters and messages, and the messages staff write (a rejection's
reason, a question). Scope checks, the audit and the workflow stay with
the caller (`api.correction_filing`, `api.correction_form`,
`api.routers.staff_corrections`)."""

from __future__ import annotations

import uuid
from datetime import date

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
    return await queue_at(conn, member, [step] if step else None, None, limit)


_QUEUE_COLUMNS = """
    SELECT r.id, r.status, r.escalated, r.created_at, r.updated_at, r.closed_at, r.proposed_birthdate,
           r.uai, s.name AS school_name, p.first_name, p.last_name, p.class_name,
           (SELECT count(*) FROM correction_participants cp WHERE cp.request_id = r.id) AS requesters
    FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id JOIN schools s ON s.uai = r.uai
"""


async def queue_at(
    conn: asyncpg.Pool | asyncpg.Connection,
    member: StaffMember,
    steps: list[str] | None,
    uai: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    """The requests of `member`'s scope at `steps` (None: every step), of one
    school (`uai`, académie support's filter) or all; oldest first."""
    scope, value = member.scope_sql("r.uai", "r.academie")
    return await conn.fetch(
        f"""{_QUEUE_COLUMNS}
        WHERE {scope} AND ($2::text[] IS NULL OR r.status = ANY($2)) AND ($3::text IS NULL OR r.uai = $3)
        ORDER BY {_QUEUE_ORDER} LIMIT $4
        """,
        value,
        steps,
        uai,
        limit,
    )


async def counts_by_step(
    conn: asyncpg.Pool | asyncpg.Connection, member: StaffMember, uai: str | None
) -> dict[str, int]:
    """How many requests of `member`'s scope (of one school, or all) are at each step."""
    scope, value = member.scope_sql("r.uai", "r.academie")
    rows = await conn.fetch(
        f"SELECT r.status, count(*) AS n FROM correction_requests r "
        f"WHERE {scope} AND ($2::text IS NULL OR r.uai = $2) GROUP BY r.status",
        value,
        uai,
    )
    return {r["status"]: r["n"] for r in rows}


async def schools_with_requests(
    conn: asyncpg.Pool | asyncpg.Connection, member: StaffMember
) -> list[asyncpg.Record]:
    """The schools of `member`'s scope that have requests (académie support's filter)."""
    scope, value = member.scope_sql("s.uai", "s.academie")
    return await conn.fetch(
        f"SELECT s.uai, s.name FROM schools s WHERE {scope} "
        "AND EXISTS (SELECT 1 FROM correction_requests r WHERE r.uai = s.uai) ORDER BY s.name, s.uai",
        value,
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


# --- families: filing ------------------------------------------------------------------------


async def pupil_school(
    conn: asyncpg.Pool | asyncpg.Connection, pupil_id: uuid.UUID
) -> asyncpg.Record | None:
    """The pupil's school (`uai`, `academie`), or None for an unknown pupil."""
    return await conn.fetchrow(
        "SELECT p.uai, s.academie FROM pupils p JOIN schools s ON s.uai = p.uai WHERE p.id = $1",
        pupil_id,
    )


async def open_request_of(conn: asyncpg.Connection, pupil_id: uuid.UUID) -> asyncpg.Record | None:
    """The pupil's open request (locked: call it in a transaction), or None."""
    return await conn.fetchrow(
        "SELECT id, uai, academie, status FROM correction_requests WHERE pupil_id = $1 AND closed_at IS NULL "
        "FOR UPDATE",
        pupil_id,
    )


async def create_request(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    pupil_id: uuid.UUID,
    uai: str,
    academie: str,
    proposed_birthdate: date,
) -> None:
    await conn.execute(
        "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate) "
        "VALUES ($1, $2, $3, $4, $5)",
        request_id,
        pupil_id,
        uai,
        academie,
        proposed_birthdate,
    )


async def add_participant(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    *,
    account_id: uuid.UUID | None,
    blocked_process_id: str,
    requester_name: str,
    contact_channel: str,
    contact_email: str | None,
    contact_mobile: str | None,
) -> asyncpg.Record:
    """The blocked process takes part in the request (once: filing again
    updates how to reach the person); its `id`, and `inserted` when new."""
    return await conn.fetchrow(
        """
        INSERT INTO correction_participants (id, request_id, account_id, blocked_process_id, requester_name,
                                             contact_channel, contact_email, contact_mobile)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (request_id, blocked_process_id) DO UPDATE
            SET contact_channel = excluded.contact_channel, contact_email = excluded.contact_email,
                contact_mobile = excluded.contact_mobile
        RETURNING id, (xmax = 0) AS inserted
        """,
        uuid.uuid4(),
        request_id,
        account_id,
        blocked_process_id,
        requester_name,
        contact_channel,
        contact_email,
        contact_mobile,
    )


async def first_participant(conn: asyncpg.Connection, request_id: uuid.UUID) -> asyncpg.Record:
    """Who filed first (`account_id`, `blocked_process_id`)."""
    return await conn.fetchrow(
        "SELECT account_id, blocked_process_id FROM correction_participants WHERE request_id = $1 "
        "ORDER BY created_at, id LIMIT 1",
        request_id,
    )


async def add_requester_message(
    conn: asyncpg.Connection,
    message_id: uuid.UUID,
    request_id: uuid.UUID,
    kind: str,
    participant_id: uuid.UUID,
    body: str,
) -> None:
    """A message of a requester: the `request` itself, or an `answer` to staff's question."""
    await conn.execute(
        "INSERT INTO correction_messages (id, request_id, kind, participant_id, body) VALUES ($1, $2, $3, $4, $5)",
        message_id,
        request_id,
        kind,
        participant_id,
        body,
    )


# --- families: following a request -----------------------------------------------------------


async def guardian_children(
    conn: asyncpg.Pool | asyncpg.Connection, guardian_id: uuid.UUID
) -> list[asyncpg.Record]:
    """The guardian's children (`id`, names, `school_name`) a request may be for."""
    return await conn.fetch(
        """
        SELECT p.id, p.first_name, p.last_name, s.name AS school_name
        FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id JOIN schools s ON s.uai = p.uai
        WHERE gp.guardian_id = $1 ORDER BY p.first_name, p.id
        """,
        guardian_id,
    )


async def guardian_name(
    conn: asyncpg.Pool | asyncpg.Connection, guardian_id: uuid.UUID
) -> asyncpg.Record | None:
    """The guardian record's `first_name` and `last_name`."""
    return await conn.fetchrow(
        "SELECT first_name, last_name FROM guardians WHERE id = $1", guardian_id
    )


async def requests_of_process(
    conn: asyncpg.Pool | asyncpg.Connection, process_id: str
) -> list[asyncpg.Record]:
    """The requests the process took part in, oldest first, with staff's latest question."""
    return await conn.fetch(
        """
        SELECT r.id, r.status,
               (SELECT m.body FROM correction_messages m WHERE m.request_id = r.id AND m.kind = 'question'
                ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS question
        FROM correction_requests r JOIN correction_participants cp ON cp.request_id = r.id
        WHERE cp.blocked_process_id = $1 ORDER BY r.created_at, r.id
        """,
        process_id,
    )


async def participant(
    conn: asyncpg.Pool | asyncpg.Connection, request_id: uuid.UUID, process_id: str
) -> asyncpg.Record | None:
    """The process's part in the request (`id`, `account_id`, `requester_name`), or None."""
    return await conn.fetchrow(
        "SELECT id, account_id, requester_name FROM correction_participants "
        "WHERE request_id = $1 AND blocked_process_id = $2",
        request_id,
        process_id,
    )


async def request_for_requester(
    conn: asyncpg.Pool | asyncpg.Connection, request_id: uuid.UUID
) -> asyncpg.Record | None:
    """The request with the pupil's first name."""
    return await conn.fetchrow(
        "SELECT r.*, p.first_name FROM correction_requests r JOIN pupils p ON p.id = r.pupil_id WHERE r.id = $1",
        request_id,
    )


async def messages_for_requester(
    conn: asyncpg.Pool | asyncpg.Connection, request_id: uuid.UUID
) -> list[asyncpg.Record]:
    """The request's messages in order, with who wrote each (`staff_id`, or
    the participant's `blocked_process_id`)."""
    return await conn.fetch(
        """
        SELECT m.created_at, m.kind, m.body, m.staff_id, cp.blocked_process_id
        FROM correction_messages m LEFT JOIN correction_participants cp ON cp.id = m.participant_id
        WHERE m.request_id = $1 ORDER BY m.created_at, m.id
        """,
        request_id,
    )


async def request_status(
    conn: asyncpg.Pool | asyncpg.Connection, request_id: uuid.UUID
) -> str | None:
    return await conn.fetchval("SELECT status FROM correction_requests WHERE id = $1", request_id)
