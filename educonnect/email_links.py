"""Emailed links as the pages they open read them (table `email_links`, only
the token's HMAC stored; `activities.email_links` issues and sends them):
the link of a token, and the click the person made on it (`clicked_at`,
which the workflows read back before they count a click)."""

from __future__ import annotations

import asyncpg

from educonnect.tokens import token_hash


async def link_for_token(
    conn: asyncpg.Pool | asyncpg.Connection, token: str, purpose: str
) -> asyncpg.Record | None:
    """The link of `token` for `purpose`: ids, address, whether it was used,
    revoked, or has `expired`."""
    return await conn.fetchrow(
        "SELECT id, account_id, process_id, email, used_at, revoked_at, expires_at <= now() AS expired "
        "FROM email_links WHERE token_hash = $1 AND purpose = $2",
        token_hash(token),
        purpose,
    )


async def record_click(conn: asyncpg.Pool | asyncpg.Connection, token: str) -> None:
    """The person showed the link's token: the first click's time is kept."""
    await conn.execute(
        "UPDATE email_links SET clicked_at = coalesce(clicked_at, now()) WHERE token_hash = $1",
        token_hash(token),
    )
