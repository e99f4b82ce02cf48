"""The school services registered with EduConnect's OpenID Connect provider
(DESIGN §10): who they are, how they authenticate, where the browser may be
sent back (exact addresses only), which scopes and claims they may have, and
where their back-channel logout is received.

Registered by operators (`python -m educonnect.services_cli`) or, for the
development stack, from the SERVICE_CLIENTS setting (`register_from_settings`).
A client secret is shown once and stored as its HMAC (`educonnect.tokens`)."""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

import asyncpg
from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list
from pydantic import BaseModel, Field

from educonnect.service_claims import CLAIMS, SCOPES
from educonnect.tokens import token_hash

SECRET_BASIC, PRIVATE_KEY_JWT = "client_secret_basic", "private_key_jwt"


@dataclass(frozen=True)
class ServiceClient(ClientMixin):
    """A registered service, as Authlib's authorization server asks about it."""

    client_id: str
    name: str
    auth_method: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    claims: tuple[str, ...]
    sector: str
    secret_hash: bytes | None = None
    jwks: dict[str, Any] | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    portal_service: str | None = None
    initiate_login_uri: str | None = None

    # --- Authlib's ClientMixin ---------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # the request names its redirect URI, always

    def get_allowed_scope(self, scope: str | None) -> str:
        """The scopes asked for that the service may have (the others dropped)."""
        return list_to_scope([s for s in scope_to_list(scope or "") or [] if s in self.scopes])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, nothing else

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret_hash is not None and hmac.compare_digest(
            token_hash(client_secret), self.secret_hash
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris)}


class Registration(BaseModel):
    """What an operator registers (the CLI's options, a SERVICE_CLIENTS entry)."""

    client_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    name: str = Field(min_length=1, max_length=120)
    auth_method: str = Field(default=SECRET_BASIC, pattern=f"^({SECRET_BASIC}|{PRIVATE_KEY_JWT})$")
    redirect_uris: list[str] = Field(min_length=1)
    post_logout_redirect_uris: list[str] = []
    scopes: list[str] = ["openid"]
    claims: list[str] = ["sub"]
    backchannel_logout_uri: str | None = None
    sector: str | None = None  # default: the client id
    portal_service: str | None = None  # the portal tile that opens it (educonnect.services)
    initiate_login_uri: str | None = None  # where the tile sends the browser
    client_secret: str | None = None  # settings only (dev stack); the CLI makes one
    jwks: dict[str, Any] | None = None  # private_key_jwt: the service's public keys

    def checked(self) -> Registration:
        unknown = [s for s in self.scopes if s not in SCOPES] + [
            c for c in self.claims if c not in CLAIMS
        ]
        if unknown:
            raise ValueError(f"unknown scopes or claims: {', '.join(unknown)}")
        if "openid" not in self.scopes:
            raise ValueError("the scopes must include openid")
        if self.auth_method == PRIVATE_KEY_JWT and not self.jwks:
            raise ValueError("private_key_jwt needs the service's public keys (jwks)")
        return self


def _client(row: asyncpg.Record) -> ServiceClient:
    jwks = row["jwks"]
    return ServiceClient(
        client_id=row["client_id"],
        name=row["name"],
        auth_method=row["auth_method"],
        redirect_uris=tuple(row["redirect_uris"]),
        scopes=tuple(row["scopes"]),
        claims=tuple(row["claims"]),
        sector=row["sector"],
        secret_hash=row["secret_hash"],
        jwks=json.loads(jwks) if isinstance(jwks, str) else jwks,
        post_logout_redirect_uris=tuple(row["post_logout_redirect_uris"]),
        backchannel_logout_uri=row["backchannel_logout_uri"],
        portal_service=row["portal_service"],
        initiate_login_uri=row["initiate_login_uri"],
    )


async def find(conn: asyncpg.Connection | asyncpg.Pool, client_id: str) -> ServiceClient | None:
    """An enabled registered service, or None."""
    row = await conn.fetchrow(
        "SELECT * FROM service_clients WHERE client_id = $1 AND disabled_at IS NULL", client_id
    )
    return _client(row) if row else None


async def portal_links(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, str]:
    """The portal's tiles that open a registered service: code -> the service's sign-in address."""
    rows = await conn.fetch(
        "SELECT portal_service, initiate_login_uri FROM service_clients WHERE disabled_at IS NULL "
        "AND portal_service IS NOT NULL AND initiate_login_uri IS NOT NULL ORDER BY client_id"
    )
    return {r["portal_service"]: r["initiate_login_uri"] for r in rows}


async def all_clients(conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM service_clients ORDER BY client_id")


async def register(conn: asyncpg.Connection | asyncpg.Pool, reg: Registration) -> str | None:
    """Create or replace a registration; returns the client secret to hand to
    the service (client_secret_basic), the only time it is seen."""
    reg.checked()
    secret = None
    if reg.auth_method == SECRET_BASIC:
        secret = reg.client_secret or secrets.token_urlsafe(32)
    await conn.execute(
        """
        INSERT INTO service_clients (client_id, name, auth_method, secret_hash, jwks, redirect_uris,
            post_logout_redirect_uris, scopes, claims, backchannel_logout_uri, sector, portal_service,
            initiate_login_uri)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (client_id) DO UPDATE SET name = $2, auth_method = $3, secret_hash = $4,
            jwks = $5::jsonb, redirect_uris = $6, post_logout_redirect_uris = $7, scopes = $8,
            claims = $9, backchannel_logout_uri = $10, sector = $11, portal_service = $12,
            initiate_login_uri = $13, updated_at = now(), disabled_at = NULL
        """,
        reg.client_id,
        reg.name,
        reg.auth_method,
        token_hash(secret) if secret else None,
        json.dumps(reg.jwks) if reg.jwks else None,
        reg.redirect_uris,
        reg.post_logout_redirect_uris,
        reg.scopes,
        sorted(set(reg.claims) | {"sub"}),
        reg.backchannel_logout_uri,
        reg.sector or reg.client_id,
        reg.portal_service,
        reg.initiate_login_uri,
    )
    return secret


async def new_secret(conn: asyncpg.Connection | asyncpg.Pool, client_id: str) -> str | None:
    """A new client secret (the old one stops working); None: no such client_secret_basic service."""
    secret = secrets.token_urlsafe(32)
    done = await conn.fetchval(
        "UPDATE service_clients SET secret_hash = $2, updated_at = now() "
        "WHERE client_id = $1 AND auth_method = $3 RETURNING client_id",
        client_id,
        token_hash(secret),
        SECRET_BASIC,
    )
    return secret if done else None


async def disable(conn: asyncpg.Connection | asyncpg.Pool, client_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "UPDATE service_clients SET disabled_at = now() WHERE client_id = $1 RETURNING client_id",
            client_id,
        )
    )


async def register_from_settings(conn: asyncpg.Connection | asyncpg.Pool, raw: str | None) -> None:
    """SERVICE_CLIENTS (a JSON list of registrations, with their secrets): the
    development stack's services, registered when the API starts."""
    if not raw:
        return
    for entry in json.loads(raw):
        await register(conn, Registration.model_validate(entry))
