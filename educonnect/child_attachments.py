"""Children attached to an account, family and staff side (DESIGN §3.10,
FAQ 12-13): the request to merge another account into the one kept, and
"Je ne suis pas le représentant légal de cet élève" (table
`attachment_disputes`): the child hidden at once, then the school's staff
confirm the link or detach the child. The API calls these; scope checks and
the audit stay with the caller."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.staff import StaffMember

# --- merging two accounts ------------------------------------------------------------------


async def account_identifier(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID
) -> str | None:
    return await conn.fetchval("SELECT identifier FROM accounts WHERE id = $1", account_id)


async def record_merge(
    conn: asyncpg.Pool | asyncpg.Connection,
    merge_id: uuid.UUID,
    kept_account_id: uuid.UUID,
    other_account_id: uuid.UUID,
) -> None:
    """The merge asked for, before its workflow starts (`account-merge/<kept-account-id>`)."""
    await conn.execute(
        "INSERT INTO account_merges (id, kept_account_id, other_account_id) VALUES ($1, $2, $3)",
        merge_id,
        kept_account_id,
        other_account_id,
    )


# --- "Je ne suis pas le représentant légal de cet élève" -----------------------------------


async def attached_child(
    conn: asyncpg.Connection, account_id: uuid.UUID, pupil_id: uuid.UUID
) -> asyncpg.Record | None:
    """The link of the account's guardian to the pupil (locked), with the
    account's identifier and the pupil's school; None when not attached.
    Call it in a transaction."""
    return await conn.fetchrow(
        """
        SELECT a.identifier, gp.guardian_id, gp.disputed_at, p.uai, s.academie
        FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id
        JOIN pupils p ON p.id = gp.pupil_id JOIN schools s ON s.uai = p.uai
        WHERE a.id = $1 AND gp.pupil_id = $2 FOR UPDATE OF gp
        """,
        account_id,
        pupil_id,
    )


async def file_dispute(
    conn: asyncpg.Connection, account_id: uuid.UUID, pupil_id: uuid.UUID, link: asyncpg.Record
) -> uuid.UUID:
    """Flag the link (`attached_child`) for the school and hide the child from
    the account; the dispute's id (the one already awaiting review, if any).
    Call it in the transaction of `attached_child`."""
    dispute_id = await conn.fetchval(
        """
        INSERT INTO attachment_disputes (id, guardian_id, pupil_id, account_id, uai, academie)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (guardian_id, pupil_id) WHERE status = 'awaiting_review' DO UPDATE SET status = excluded.status
        RETURNING id
        """,
        uuid.uuid4(),
        link["guardian_id"],
        pupil_id,
        account_id,
        link["uai"],
        link["academie"],
    )
    await conn.execute(
        "UPDATE guardian_pupils SET disputed_at = coalesce(disputed_at, now()) WHERE guardian_id = $1 AND pupil_id = $2",
        link["guardian_id"],
        pupil_id,
    )
    return dispute_id


_DISPUTE = """
    SELECT d.id AS dispute_id, d.status, d.created_at, d.uai, d.academie, d.pupil_id, d.guardian_id,
           p.first_name || ' ' || p.last_name AS pupil_name, p.class_name,
           g.first_name || ' ' || g.last_name AS guardian_name, a.identifier AS account_identifier
    FROM attachment_disputes d JOIN pupils p ON p.id = d.pupil_id JOIN guardians g ON g.id = d.guardian_id
    JOIN accounts a ON a.id = d.account_id
"""


async def disputes_in_scope(
    conn: asyncpg.Pool | asyncpg.Connection, member: StaffMember, limit: int
) -> list[asyncpg.Record]:
    """The disputes of `member`'s scope: awaiting review first, oldest first."""
    condition, value = member.scope_sql("d.uai", "d.academie")
    return await conn.fetch(
        f"{_DISPUTE} WHERE {condition} ORDER BY d.status <> 'awaiting_review', d.created_at LIMIT {int(limit)}",
        value,
    )


async def dispute(
    conn: asyncpg.Pool | asyncpg.Connection, dispute_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    """The dispute with the pupil's and guardian's names and the account's
    identifier; `for_update` locks it (in a transaction)."""
    lock = " FOR UPDATE OF d" if for_update else ""
    return await conn.fetchrow(f"{_DISPUTE} WHERE d.id = $1{lock}", dispute_id)


async def close_dispute(
    conn: asyncpg.Connection,
    member: StaffMember,
    dispute: asyncpg.Record,
    decision: str,
) -> None:
    """Staff's decision: `link_confirmed` (the child shows again) or `detached`
    (the link is removed); the dispute is closed. Call it in a transaction."""
    if decision == "link_confirmed":
        await conn.execute(
            "UPDATE guardian_pupils SET disputed_at = NULL WHERE guardian_id = $1 AND pupil_id = $2",
            dispute["guardian_id"],
            dispute["pupil_id"],
        )
    else:
        await conn.execute(
            "DELETE FROM guardian_pupils WHERE guardian_id = $1 AND pupil_id = $2",
            dispute["guardian_id"],
            dispute["pupil_id"],
        )
    await conn.execute(
        "UPDATE attachment_disputes SET status = $2, decided_by = $3, decided_at = now() WHERE id = $1",
        dispute["dispute_id"],
        decision,
        member.id,
    )
