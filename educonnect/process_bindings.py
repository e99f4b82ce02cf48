"""Which browser started a process addressed by a bare id (table
`process_bindings`): the HMAC of the token in that browser's cookie and the
cookie's end, past which the binding opens nothing (`api.process_binding`).
The token never enters Temporal."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from educonnect.tokens import token_hash


async def bind(
    conn: asyncpg.Pool | asyncpg.Connection, process_id: str, token: str, max_age: timedelta
) -> None:
    await conn.execute(
        "INSERT INTO process_bindings (process_id, binding_hash, expires_at) VALUES ($1, $2, now() + $3::interval)",
        process_id,
        token_hash(token),
        max_age,
    )


async def is_bound(conn: asyncpg.Pool | asyncpg.Connection, process_id: str, token: str) -> bool:
    """True when `token` is the live binding of the process to a browser."""
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM process_bindings WHERE process_id = $1 AND binding_hash = $2 AND expires_at > now()",
            process_id,
            token_hash(token),
        )
    )
