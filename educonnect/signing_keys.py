"""The provider's signing keys (DESIGN §10), kept in PostgreSQL.

One key signs (the newest not retired); `rotate` retires it and makes a new
one. The JWKS publishes the signing key and every retired key for
SIGNING_KEY_PUBLISHED_AFTER_RETIREMENT, longer than any token it signed
lives, so a service that verifies a token signed just before a rotation still
finds its key. RS256: the algorithm every OpenID Connect client supports."""

from __future__ import annotations

import json
import secrets

import asyncpg
from joserfc.jwk import KeySet, RSAKey

from educonnect.policies import SIGNING_KEY_PUBLISHED_AFTER_RETIREMENT

ALGORITHM = "RS256"
_LOCK = 0x0EC_0_1DC  # advisory lock: one process makes the first key


def _new_key() -> RSAKey:
    kid = secrets.token_urlsafe(8)
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})


def _load(raw) -> RSAKey:
    return RSAKey.import_key(json.loads(raw) if isinstance(raw, str) else dict(raw))


async def signing_key(pool: asyncpg.Pool | asyncpg.Connection) -> RSAKey:
    """The key that signs now (made on first use)."""
    row = await pool.fetchrow(
        "SELECT private_jwk FROM oidc_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1"
    )
    if row:
        return _load(row["private_jwk"])
    async with _connection(pool) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        row = await conn.fetchrow(
            "SELECT private_jwk FROM oidc_signing_keys WHERE retired_at IS NULL "
            "ORDER BY created_at DESC LIMIT 1"
        )
        if row:
            return _load(row["private_jwk"])
        return await _insert(conn, _new_key())


async def _insert(conn: asyncpg.Connection, key: RSAKey) -> RSAKey:
    await conn.execute(
        "INSERT INTO oidc_signing_keys (kid, private_jwk) VALUES ($1, $2::jsonb)",
        key.kid,
        json.dumps(key.as_dict(private=True)),
    )
    return key


async def rotate(pool: asyncpg.Pool | asyncpg.Connection) -> str:
    """Retire the signing key and make a new one; returns the new key's id."""
    key = _new_key()
    async with _connection(pool) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        await conn.execute(
            "UPDATE oidc_signing_keys SET retired_at = now() WHERE retired_at IS NULL"
        )
        await _insert(conn, key)
    assert key.kid is not None
    return key.kid


async def published(pool: asyncpg.Pool | asyncpg.Connection) -> KeySet:
    """The public keys a service verifies tokens with (the JWKS)."""
    await signing_key(pool)  # there is always one to publish
    rows = await pool.fetch(
        "SELECT private_jwk FROM oidc_signing_keys "
        "WHERE retired_at IS NULL OR retired_at > now() - $1::interval ORDER BY created_at DESC",
        SIGNING_KEY_PUBLISHED_AFTER_RETIREMENT,
    )
    return KeySet([_load(r["private_jwk"]) for r in rows])


class _connection:
    """A connection from a pool (acquired), or the connection given."""

    def __init__(self, source: asyncpg.Pool | asyncpg.Connection) -> None:
        self.source = source
        self._acquired: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        if isinstance(self.source, asyncpg.Pool):
            self._acquired = await self.source.acquire()
            return self._acquired
        return self.source

    async def __aexit__(self, *exc) -> None:
        if self._acquired is not None and isinstance(self.source, asyncpg.Pool):
            await self.source.release(self._acquired)
