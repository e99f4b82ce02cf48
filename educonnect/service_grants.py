"""What the provider hands to the services, in PostgreSQL (DESIGN §10):
authorization codes and access tokens (their HMAC only, `educonnect.tokens`),
and one service session per EduConnect session and service (its `sid`, for
the back-channel logout). Nothing here enters Temporal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from educonnect.policies import (
    CLIENT_ASSERTION_LEEWAY,
    SERVICE_ACCESS_TOKEN_VALIDITY,
    SERVICE_CODE_VALIDITY,
)
from educonnect.tokens import token_hash


@dataclass(frozen=True)
class IssuedCode:
    """An authorization code as the token endpoint reads it (Authlib's
    AuthorizationCodeMixin and OpenID Connect's nonce and auth_time)."""

    code_hash: bytes
    client_id: str
    account_id: uuid.UUID
    session_id: uuid.UUID
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    auth_time: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


async def save_code(
    conn: asyncpg.Connection | asyncpg.Pool,
    code: str,
    *,
    client_id: str,
    account_id: uuid.UUID,
    session_id: uuid.UUID,
    redirect_uri: str,
    scope: str,
    nonce: str | None,
    code_challenge: str,
    code_challenge_method: str,
) -> None:
    await conn.execute(
        """
        INSERT INTO oidc_codes (code_hash, client_id, account_id, session_id, redirect_uri, scope, nonce,
            code_challenge, code_challenge_method, auth_time, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
            (SELECT created_at FROM sessions WHERE id = $4), now() + $10::interval)
        """,
        token_hash(code),
        client_id,
        account_id,
        session_id,
        redirect_uri,
        scope,
        nonce,
        code_challenge,
        code_challenge_method,
        SERVICE_CODE_VALIDITY,
    )


async def find_code(
    conn: asyncpg.Connection | asyncpg.Pool, code: str, client_id: str
) -> IssuedCode | None:
    """The code if it is the client's, unused and not expired. A code used
    already: the tokens it gave are revoked (RFC 6749 §4.1.2), None."""
    row = await conn.fetchrow(
        "SELECT *, used_at IS NOT NULL AS used, expires_at <= now() AS expired "
        "FROM oidc_codes WHERE code_hash = $1 AND client_id = $2",
        token_hash(code),
        client_id,
    )
    if row is None:
        return None
    if row["used"]:
        await revoke_tokens_of_code(conn, row["code_hash"])
        return None
    if row["expired"]:
        return None
    return IssuedCode(
        row["code_hash"],
        row["client_id"],
        row["account_id"],
        row["session_id"],
        row["redirect_uri"],
        row["scope"],
        row["nonce"],
        row["code_challenge"],
        row["code_challenge_method"],
        row["auth_time"],
    )


async def use_code(conn: asyncpg.Connection | asyncpg.Pool, code_hash: bytes) -> bool:
    """Mark the code used; False when another request used it first (then
    every token of the code is revoked)."""
    used = await conn.fetchval(
        "UPDATE oidc_codes SET used_at = now() WHERE code_hash = $1 AND used_at IS NULL RETURNING 1",
        code_hash,
    )
    if not used:
        await revoke_tokens_of_code(conn, code_hash)
    return bool(used)


async def revoke_tokens_of_code(conn: asyncpg.Connection | asyncpg.Pool, code_hash: bytes) -> None:
    await conn.execute(
        "UPDATE oidc_tokens SET revoked_at = now() WHERE code_hash = $1 AND revoked_at IS NULL",
        code_hash,
    )


async def session_alive(conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM sessions WHERE id = $1 AND scope = 'portal' AND revoked_at IS NULL "
            "AND expires_at > now()",
            session_id,
        )
    )


async def save_token(
    conn: asyncpg.Connection | asyncpg.Pool, access_token: str, code: IssuedCode, scope: str
) -> None:
    await conn.execute(
        """
        INSERT INTO oidc_tokens (token_hash, code_hash, client_id, account_id, session_id, scope, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval)
        """,
        token_hash(access_token),
        code.code_hash,
        code.client_id,
        code.account_id,
        code.session_id,
        scope,
        SERVICE_ACCESS_TOKEN_VALIDITY,
    )


@dataclass(frozen=True)
class AccessToken:
    client_id: str
    account_id: uuid.UUID
    scope: str


async def find_token(
    conn: asyncpg.Connection | asyncpg.Pool, access_token: str
) -> AccessToken | None:
    """A live access token: not expired, not revoked, its EduConnect session still open."""
    row = await conn.fetchrow(
        """
        SELECT t.client_id, t.account_id, t.scope FROM oidc_tokens t
        JOIN sessions s ON s.id = t.session_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()
          AND s.revoked_at IS NULL AND s.expires_at > now()
        """,
        token_hash(access_token),
    )
    return AccessToken(row["client_id"], row["account_id"], row["scope"]) if row else None


async def service_session(
    conn: asyncpg.Connection | asyncpg.Pool,
    session_id: uuid.UUID,
    client_id: str,
    account_id: uuid.UUID,
) -> uuid.UUID:
    """The `sid` of this EduConnect session at this service (made once)."""
    return await conn.fetchval(
        """
        INSERT INTO service_sessions (sid, session_id, client_id, account_id) VALUES ($1, $2, $3, $4)
        ON CONFLICT (session_id, client_id) DO UPDATE SET ended_at = NULL
        RETURNING sid
        """,
        uuid.uuid4(),
        session_id,
        client_id,
        account_id,
    )


@dataclass(frozen=True)
class EndedServiceSession:
    sid: uuid.UUID
    client_id: str
    account_id: uuid.UUID


async def end_service_sessions(
    conn: asyncpg.Connection | asyncpg.Pool, session_id: uuid.UUID
) -> list[EndedServiceSession]:
    """End the service sessions of an EduConnect session and revoke its tokens;
    returns those that were still open (to tell the services)."""
    await conn.execute(
        "UPDATE oidc_tokens SET revoked_at = now() WHERE session_id = $1 AND revoked_at IS NULL",
        session_id,
    )
    rows = await conn.fetch(
        "UPDATE service_sessions SET ended_at = now() WHERE session_id = $1 AND ended_at IS NULL "
        "RETURNING sid, client_id, account_id",
        session_id,
    )
    return [EndedServiceSession(r["sid"], r["client_id"], r["account_id"]) for r in rows]


async def assertion_first_seen(
    conn: asyncpg.Connection | asyncpg.Pool, client_id: str, jti: str, expires_at: datetime
) -> bool:
    """True the first time a client's assertion id is seen (private_key_jwt)."""
    # An id stays while its assertion is accepted: up to the leeway after its exp.
    await conn.execute(
        "DELETE FROM client_assertion_ids WHERE expires_at < now() - $1::interval",
        CLIENT_ASSERTION_LEEWAY,
    )
    return bool(
        await conn.fetchval(
            "INSERT INTO client_assertion_ids (client_id, jti, expires_at) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            client_id,
            jti,
            expires_at,
        )
    )


# --- housekeeping (`activities.housekeeping`): what may go, on a row `t` ---------------
# Each keeps what the provider still reads: a token until a day after it expired;
# a code until its tokens are gone (a code used twice revokes them: see `find_code`),
# and never one a token still refers to; a service session as long as its
# EduConnect session's row; an assertion id until its assertion's leeway has passed.

PURGEABLE_TOKEN = "t.expires_at < now() - $1::interval"
PURGEABLE_CODE = (
    "t.expires_at < now() - $1::interval "
    "AND NOT EXISTS (SELECT 1 FROM oidc_tokens k WHERE k.code_hash = t.code_hash)"
)
# Ended: by a logout, or when its EduConnect session ended (whichever came first).
PURGEABLE_SERVICE_SESSION = (
    "least(t.ended_at, (SELECT least(s.expires_at, coalesce(s.revoked_at, s.expires_at)) "
    "FROM sessions s WHERE s.id = t.session_id)) < now() - $1::interval"
)
PURGEABLE_ASSERTION_ID = "t.expires_at < now() - $1::interval"
