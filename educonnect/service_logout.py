"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0; DESIGN §10):
when an EduConnect session ends, each service signed into through it that
registered a `backchannel_logout_uri` receives a signed logout token (its
`sub` and `sid`, the logout event, no nonce) and ends its own session.

Told once, each service in parallel with a short timeout; a service that does
not answer is logged (its client id, never the token)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid

import asyncpg
import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from educonnect import service_grants
from educonnect.policies import SERVICE_LOGOUT_TIMEOUT, SERVICE_LOGOUT_TOKEN_VALIDITY
from educonnect.service_claims import pairwise_subject
from educonnect.service_clients import ServiceClient, find
from educonnect.settings import get_settings
from educonnect.signing_keys import ALGORITHM, signing_key

log = logging.getLogger("educonnect.service_logout")

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def logout_token(
    key: RSAKey, issuer: str, client: ServiceClient, account_id: uuid.UUID, sid: uuid.UUID
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + int(SERVICE_LOGOUT_TOKEN_VALIDITY.total_seconds()),
        "jti": secrets.token_urlsafe(16),
        "sub": pairwise_subject(client.sector, account_id),
        "sid": str(sid),
        "events": {LOGOUT_EVENT: {}},
    }
    header = {"alg": ALGORITHM, "kid": str(key.kid), "typ": "logout+jwt"}
    return jwt.encode(header, claims, key, [ALGORITHM])


async def _tell(http: httpx.AsyncClient, client: ServiceClient, token: str) -> bool:
    assert client.backchannel_logout_uri
    try:
        answer = await http.post(client.backchannel_logout_uri, data={"logout_token": token})
    except httpx.HTTPError as err:
        log.warning("back-channel logout to %s failed: %s", client.client_id, type(err).__name__)
        return False
    if answer.status_code >= 300:
        log.warning("back-channel logout to %s answered %s", client.client_id, answer.status_code)
        return False
    return True


async def end_services_of_session(
    pool: asyncpg.Pool, session_id: uuid.UUID, *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """End the service sessions opened through `session_id`, revoke their
    tokens, and tell the services that asked to be told. Returns how many
    services acknowledged."""
    ended = await service_grants.end_service_sessions(pool, session_id)
    if not ended:
        return 0
    key = await signing_key(pool)
    issuer = get_settings().oidc_issuer
    messages = []
    for service_session in ended:
        client = await find(pool, service_session.client_id)
        if client and client.backchannel_logout_uri:
            token = logout_token(
                key, issuer, client, service_session.account_id, service_session.sid
            )
            messages.append((client, token))
    timeout = SERVICE_LOGOUT_TIMEOUT.total_seconds()
    async with httpx.AsyncClient(timeout=timeout, transport=transport) as http:
        results = await asyncio.gather(*(_tell(http, c, t) for c, t in messages))
    return sum(results)


async def end_services_of_revoked_sessions(
    pool: asyncpg.Pool, account_id: uuid.UUID, *, transport: httpx.AsyncBaseTransport | None = None
) -> int:
    """The same for every session of the account that ended another way (a
    new password ends the other sessions, a merged account's end): the
    services still signed in through them are told. Nothing to do the second
    time (an activity's retry)."""
    ended = await pool.fetch(
        """
        SELECT DISTINCT ss.session_id FROM service_sessions ss JOIN sessions s ON s.id = ss.session_id
        WHERE ss.account_id = $1 AND ss.ended_at IS NULL
          AND (s.revoked_at IS NOT NULL OR s.expires_at <= now())
        """,
        account_id,
    )
    told = 0
    for row in ended:
        told += await end_services_of_session(pool, row["session_id"], transport=transport)
    return told
