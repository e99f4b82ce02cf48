"""Server-side sessions: the cookie holds a random token, PostgreSQL its HMAC.

Scopes: `activation` (signed in with school-issued credentials, may only
activate) and `portal` (signed in with the account's own password)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from educonnect.tokens import new_link_token, token_hash

SESSION_TTL = {"activation": timedelta(hours=1), "portal": timedelta(hours=8)}


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    account_id: uuid.UUID
    scope: str


async def open_session(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID, scope: str
) -> str:
    """Create a session and return the token for the cookie (never stored)."""
    token = new_link_token()
    await conn.execute(
        "INSERT INTO sessions (id, token_hash, account_id, scope, expires_at) VALUES ($1, $2, $3, $4, now() + $5)",
        uuid.uuid4(),
        token_hash(token),
        account_id,
        scope,
        SESSION_TTL[scope],
    )
    return token


async def find_session(conn: asyncpg.Connection | asyncpg.Pool, token: str) -> Session | None:
    row = await conn.fetchrow(
        "SELECT id, account_id, scope FROM sessions "
        "WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
        token_hash(token),
    )
    return Session(row["id"], row["account_id"], row["scope"]) if row else None


async def revoke_session(conn: asyncpg.Connection | asyncpg.Pool, token: str) -> None:
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1", token_hash(token)
    )


async def end_session(conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID) -> None:
    """End one session, known by its id (the account it opens may not be used)."""
    await conn.execute("UPDATE sessions SET revoked_at = now() WHERE id = $1", session_id)


async def opened_since(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID, max_age: timedelta
) -> bool:
    """True when the session was opened (the person signed in) less than `max_age` ago."""
    return bool(
        await conn.fetchval(
            "SELECT created_at > now() - $2::interval FROM sessions WHERE id = $1",
            session_id,
            max_age,
        )
    )


async def activation_may_be_running(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID, state: str
) -> bool:
    """True when the account's school-issued credentials were used to sign in
    (an activation session, even ended) or its activation began: an
    activation workflow may be waiting for it (to cancel when the account is
    merged or gets new credentials)."""
    return await conn.fetchval(
        "SELECT $2 = 'activating' OR EXISTS (SELECT 1 FROM sessions WHERE account_id = $1 AND scope = 'activation')",
        account_id,
        state,
    )


async def revoke_all(conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID) -> None:
    """End every session of an account (merged, credentials reissued...)."""
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL",
        account_id,
    )
