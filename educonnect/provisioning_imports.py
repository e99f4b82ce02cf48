"""A school's imports as staff upload and follow them (DESIGN §3.11): the
school, the file kept in PostgreSQL, the imports and their refused lines,
and the printable letters of the accounts without an email address. The
workflow `provisioning/<uai>/<import-id>` (`activities.provisioning`) does
the import itself. The staff API calls these; scope checks and the audit
stay with the caller."""

from __future__ import annotations

import uuid

import asyncpg

from educonnect.csv_import import content_sha256
from educonnect.staff import StaffMember

# Letters are served while they are useful: the account still waits for its
# activation and the provisional credentials have not expired.
_LIVE_LETTER = "a.state = 'provisioned' AND a.provisional_expires_at > now()"


async def school(conn: asyncpg.Pool | asyncpg.Connection, uai: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT uai, name, academie, degree FROM schools WHERE uai = $1", uai
    )


async def record_import(
    conn: asyncpg.Pool | asyncpg.Connection,
    import_id: uuid.UUID,
    uai: str,
    member: StaffMember,
    filename: str,
    content: bytes,
) -> None:
    """Keep the uploaded file (and its fingerprint) before the import starts."""
    await conn.execute(
        "INSERT INTO provisioning_imports (id, uai, staff_id, filename, content, content_sha256) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        import_id,
        uai,
        member.id,
        filename,
        content,
        content_sha256(content),
    )


async def import_row(
    conn: asyncpg.Pool | asyncpg.Connection, uai: str, import_id: uuid.UUID
) -> asyncpg.Record | None:
    """The import of this school (file name, dates, counts, summary), or None."""
    return await conn.fetchrow(
        "SELECT id, filename, created_at, finished_at, rows_total, rows_valid, rows_invalid, summary "
        "FROM provisioning_imports WHERE id = $1 AND uai = $2",
        import_id,
        uai,
    )


async def imports_of(conn: asyncpg.Pool | asyncpg.Connection, uai: str) -> list[asyncpg.Record]:
    """The school's latest imports (100), newest first."""
    return await conn.fetch(
        "SELECT id AS import_id, filename, created_at, finished_at, rows_total, rows_valid, rows_invalid "
        "FROM provisioning_imports WHERE uai = $1 ORDER BY created_at DESC LIMIT 100",
        uai,
    )


async def refused_lines(
    conn: asyncpg.Pool | asyncpg.Connection, import_id: uuid.UUID
) -> list[asyncpg.Record]:
    """The import's refused lines (`line_no`, `field`, `message`), in file order."""
    return await conn.fetch(
        "SELECT line_no, field, message FROM provisioning_import_errors WHERE import_id = $1 ORDER BY line_no, id",
        import_id,
    )


async def import_letters(
    conn: asyncpg.Pool | asyncpg.Connection,
    import_id: uuid.UUID,
    uai: str,
    class_name: str | None,
) -> list[asyncpg.Record]:
    """The letters of the import still useful (`account_id`, `pdf`), of one
    class or all, by class then name."""
    return await conn.fetch(
        f"""
        SELECT l.account_id, l.pdf FROM provisioning_letters l JOIN accounts a ON a.id = l.account_id
        WHERE l.import_id = $1 AND l.uai = $2 AND ($3::text IS NULL OR l.class_name = $3) AND {_LIVE_LETTER}
        ORDER BY l.class_name, l.sort_key
        """,
        import_id,
        uai,
        class_name,
    )


async def account_letter(
    conn: asyncpg.Pool | asyncpg.Connection, account_id: uuid.UUID, uai: str
) -> bytes | None:
    """The account's letter (PDF) while it is useful, or None."""
    return await conn.fetchval(
        f"SELECT l.pdf FROM provisioning_letters l JOIN accounts a ON a.id = l.account_id "
        f"WHERE l.account_id = $1 AND l.uai = $2 AND {_LIVE_LETTER}",
        account_id,
        uai,
    )


async def letters_downloaded(
    conn: asyncpg.Pool | asyncpg.Connection, account_ids: list[uuid.UUID]
) -> None:
    await conn.execute(
        "UPDATE provisioning_letters SET downloaded_at = now() WHERE account_id = ANY($1)",
        account_ids,
    )


async def import_with_school(
    conn: asyncpg.Pool | asyncpg.Connection, import_id: uuid.UUID
) -> asyncpg.Record | None:
    """The import `import_id` with its school (`uai`, `school_name`, `academie`), or None."""
    return await conn.fetchrow(
        "SELECT i.id, i.uai, s.name AS school_name, s.academie, i.filename, i.created_at, i.finished_at "
        "FROM provisioning_imports i JOIN schools s ON s.uai = i.uai WHERE i.id = $1",
        import_id,
    )
