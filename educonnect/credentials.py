"""Identifier + password check, for sign-in with the account's own password or
with the provisional password issued by the school (DESIGN §3.1, §3.5, §4).

Unknown identifiers cost the same Argon2id verification as known ones, and all
failures give the same answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import asyncpg

from educonnect.errors import DomainError, ErrorCode
from educonnect.passwords import verify_password_async


@dataclass(frozen=True)
class CheckedAccount:
    account_id: uuid.UUID
    identifier: str
    kind: str
    state: str
    provisional: bool  # signed in with the school-issued password
    provisional_expires_at: datetime | None


async def check_credentials(conn: asyncpg.Connection | asyncpg.Pool, identifier: str, password: str) -> CheckedAccount:
    row = await conn.fetchrow(
        "SELECT id, identifier, kind, state, password_hash, provisional_password_hash, provisional_expires_at "
        "FROM accounts WHERE identifier = $1",
        identifier.strip().lower(),
    )
    if row is None:
        await verify_password_async(None, password)  # same cost as a real check
        raise DomainError(ErrorCode.INVALID_CREDENTIALS)

    if row["state"] == "active":
        stored, provisional = row["password_hash"], False
    else:
        stored, provisional = row["provisional_password_hash"], True
    if not await verify_password_async(stored, password):
        raise DomainError(ErrorCode.INVALID_CREDENTIALS)

    if row["state"] in ("locked", "merged"):
        raise DomainError(ErrorCode.ACCOUNT_UNAVAILABLE)
    expires = row["provisional_expires_at"]
    if provisional and expires is not None and expires <= datetime.now(timezone.utc):
        raise DomainError(ErrorCode.CREDENTIALS_EXPIRED)
    return CheckedAccount(row["id"], row["identifier"], row["kind"], row["state"], provisional, expires)
