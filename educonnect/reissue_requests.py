"""Staff's requests for new provisional credentials (table
`credential_reissues`) as the staff API writes and reads them; the workflow
`credentials-reissue/<id>` (`activities.reissue`) fills in the delivery."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.staff import StaffMember


async def record_request(
    conn: asyncpg.Pool | asyncpg.Connection,
    reissue_id: uuid.UUID,
    member: StaffMember,
    uai: str,
    wanted_channel: str,
    *,
    account_id: uuid.UUID | None,
    guardian_id: uuid.UUID | None,
) -> None:
    """The request, before its workflow starts: for an account, or to create a guardian's."""
    await conn.execute(
        "INSERT INTO credential_reissues (id, account_id, guardian_id, uai, staff_id, staff_label, wanted_channel) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        reissue_id,
        account_id,
        guardian_id,
        uai,
        member.id,
        member.label,
        wanted_channel,
    )


async def reissue(
    conn: asyncpg.Pool | asyncpg.Connection, reissue_id: uuid.UUID
) -> asyncpg.Record | None:
    """What the request became (channel, letter, delivery), the account's
    address, and the school it was issued for (`uai`, `academie`)."""
    return await conn.fetchrow(
        """
        SELECT r.account_id, r.guardian_id, r.channel, r.pdf, r.delivered_at, a.email, s.uai, s.academie
        FROM credential_reissues r LEFT JOIN accounts a ON a.id = r.account_id JOIN schools s ON s.uai = r.uai
        WHERE r.id = $1
        """,
        reissue_id,
    )


async def letter_downloaded(conn: asyncpg.Pool | asyncpg.Connection, reissue_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE credential_reissues SET downloaded_at = now() WHERE id = $1", reissue_id
    )
