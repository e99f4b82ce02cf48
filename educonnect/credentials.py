"""Identifier + password check, for sign-in with the account's own password or
with the provisional password issued by the school (DESIGN §3.1, §3.5, §4).

Unknown identifiers cost the same Argon2id verification as known ones, and all
failures give the same answer. The API calls it through
`educonnect.sign_in_limits.check_credentials_limited` (delays, locks, per-IP
limits); a hash made with older Argon2 parameters is replaced on a successful
sign-in (DESIGN §7)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from educonnect.errors import DomainError, ErrorCode, refusal_for
from educonnect.passwords import hash_password_async, needs_rehash, verify_password_async


@dataclass(frozen=True)
class CheckedAccount:
    account_id: uuid.UUID
    identifier: str
    kind: str
    state: str
    provisional: bool  # signed in with the school-issued password
    provisional_expires_at: datetime | None


async def check_credentials(
    conn: asyncpg.Connection | asyncpg.Pool, identifier: str, password: str
) -> CheckedAccount:
    row = await conn.fetchrow(
        "SELECT id, identifier, kind, state, password_hash, provisional_password_hash, provisional_expires_at "
        "FROM accounts WHERE identifier = $1",
        identifier.strip().lower(),
    )
    if row is None:
        await verify_password_async(None, password)  # same cost as a real check
        raise DomainError(ErrorCode.INVALID_CREDENTIALS)

    # Before activation the school-issued password; afterwards (also when
    # locked or merged) the account's own.
    provisional = row["state"] in ("provisioned", "activating")
    stored = row["provisional_password_hash"] if provisional else row["password_hash"]
    if row["state"] == "merged" and stored is None:  # merged before its activation
        stored = row["provisional_password_hash"]
    if not await verify_password_async(stored, password):
        raise DomainError(ErrorCode.INVALID_CREDENTIALS)
    if not provisional and row["state"] == "active" and needs_rehash(stored):
        await conn.execute(
            "UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1 AND password_hash = $3",
            row["id"],
            await hash_password_async(password),
            stored,
        )

    if row["state"] == "merged":
        raise await merged_refusal(conn, row["id"])
    if row["state"] == "locked":
        raise refusal_for(ErrorCode.ACCOUNT_UNAVAILABLE, row["kind"])
    expires = row["provisional_expires_at"]
    if provisional and expires is not None and expires <= datetime.now(UTC):
        raise refusal_for(ErrorCode.CREDENTIALS_EXPIRED, row["kind"])
    return CheckedAccount(
        row["id"], row["identifier"], row["kind"], row["state"], provisional, expires
    )


async def merged_refusal(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID
) -> DomainError:
    """A merged account cannot sign in (DESIGN §3.10): the answer names the
    identifier of the account it was merged into (followed if that one was
    merged later). Only given after the right password."""
    kept = await conn.fetchval(
        """
        WITH RECURSIVE chain(id, merged_into, identifier, depth) AS (
            SELECT id, merged_into, identifier, 0 FROM accounts WHERE id = $1
            UNION ALL
            SELECT a.id, a.merged_into, a.identifier, c.depth + 1
            FROM chain c JOIN accounts a ON a.id = c.merged_into WHERE c.depth < 10
        )
        SELECT identifier FROM chain WHERE merged_into IS NULL ORDER BY depth DESC LIMIT 1
        """,
        account_id,
    )
    if kept is None:
        return DomainError(ErrorCode.ACCOUNT_MERGED)
    return DomainError(
        ErrorCode.ACCOUNT_MERGED,
        details=[{"identifier": kept}],
        message=f"Ce compte a été regroupé avec le compte {kept}. Connectez-vous désormais avec l'identifiant {kept}.",
    )
