"""Staff decisions on birthdate corrections (DESIGN §3.7, §4), as PostgreSQL
holds them (table `staff_decisions`, migration 0015).

The staff API writes a decision once it has checked who decides, their scope
and what they decide; the workflow hears only the decision's id. Its activity
(`activities.correction_decisions`) reads the decision back with `read` and
refuses it unless it belongs to the request, its author still covers the
pupil's school, and no other activity applied it. So a signal sent to the
workflow by anyone else (the Temporal Web UI, a script) changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from educonnect.models.corrections import OPEN_STEPS, DecisionKind, MessageRefusal, StaffRole
from educonnect.staff import StaffMember


async def record(
    conn: asyncpg.Connection,
    member: StaffMember,
    request_id: uuid.UUID,
    kind: DecisionKind,
    *,
    corrected_birthdate: date | None = None,
    message_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Write an authorised decision (the caller checked `member`'s scope); its id."""
    decision_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO staff_decisions (id, request_id, staff_id, kind, corrected_birthdate, message_id) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        decision_id,
        request_id,
        member.id,
        kind.value,
        corrected_birthdate,
        message_id,
    )
    return decision_id


@dataclass(frozen=True)
class Decision:
    id: uuid.UUID
    request_id: uuid.UUID
    pupil_id: uuid.UUID
    kind: DecisionKind
    author: StaffMember
    corrected_birthdate: date | None
    message_id: uuid.UUID | None
    applied_key: str | None
    request_status: str


class Refused(Exception):
    def __init__(self, reason: MessageRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


async def read(
    conn: asyncpg.Connection, request_id: uuid.UUID, decision_id: uuid.UUID, key: str
) -> Decision:
    """The decision `decision_id` of request `request_id`, locked with its
    request, for the activity of idempotency key `key` to apply; `Refused`
    when it may not be applied: unknown to this request, applied by another
    activity, its author disabled or no longer covering the pupil's school,
    or the request closed. A decision this same activity applied already is
    returned (`applied_key` is `key`): the caller answers as its first
    attempt did."""
    row = await conn.fetchrow(
        """
        SELECT d.*, r.pupil_id, r.uai, r.academie, r.status,
               s.login, s.email, s.display_name, s.role, s.uai AS staff_uai, s.academie AS staff_academie, s.active
        FROM staff_decisions d
        JOIN correction_requests r ON r.id = d.request_id JOIN staff_accounts s ON s.id = d.staff_id
        WHERE d.id = $1 AND d.request_id = $2 FOR UPDATE OF d, r
        """,
        decision_id,
        request_id,
    )
    if row is None:  # made up, or another request's
        raise Refused(MessageRefusal.UNKNOWN)
    author = StaffMember(
        row["staff_id"], row["login"], row["email"], row["display_name"], StaffRole(row["role"]),
        row["staff_uai"], row["staff_academie"],
    )  # fmt: skip
    if row["applied_key"] is None:
        if not row["active"] or not author.covers(
            row["uai"], row["academie"]
        ):  # moved or disabled since
            raise Refused(MessageRefusal.OUT_OF_SCOPE)
        if row["status"] not in OPEN_STEPS:
            raise Refused(MessageRefusal.CLOSED)
    elif row["applied_key"] != key:
        raise Refused(MessageRefusal.ALREADY_USED)
    return Decision(
        id=row["id"],
        request_id=row["request_id"],
        pupil_id=row["pupil_id"],
        kind=DecisionKind(row["kind"]),
        author=author,
        corrected_birthdate=row["corrected_birthdate"],
        message_id=row["message_id"],
        applied_key=row["applied_key"],
        request_status=row["status"],
    )


async def mark_applied(conn: asyncpg.Connection, decision_id: uuid.UUID, key: str) -> None:
    await conn.execute(
        "UPDATE staff_decisions SET applied_at = now(), applied_key = $2 WHERE id = $1",
        decision_id,
        key,
    )
