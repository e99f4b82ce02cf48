"""A school service signing in with EduConnect, played by an independent
OpenID Connect client library (Authlib's httpx client, joserfc to verify the
ID token), not the provider's own code."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from educonnect.service_clients import Registration, register
from educonnect.settings import get_settings

ISSUER = get_settings().oidc_issuer


@dataclass
class Service:
    client_id: str
    secret: str | None
    redirect_uri: str
    scope: str

    def client(self, transport: httpx.AsyncBaseTransport, **extra: Any) -> AsyncOAuth2Client:
        settings: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.secret,
            "scope": self.scope,
            "redirect_uri": self.redirect_uri,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "transport": transport,
        }
        return AsyncOAuth2Client(**{**settings, **extra})


async def register_service(
    pool: asyncpg.Pool,
    *,
    scopes: tuple[str, ...] = ("openid", "profile", "affiliations", "schooling"),
    claims: tuple[str, ...] = (
        "given_name",
        "family_name",
        "affiliations",
        "school_uai",
        "class_name",
        "children",
    ),
    **extra: Any,
) -> Service:
    client_id = f"svc-{uuid.uuid4().hex[:10]}"
    redirect_uri = f"https://{client_id}.example.fr/callback"
    secret = await register(
        pool,
        Registration(
            client_id=client_id,
            name=f"Service {client_id}",
            redirect_uris=[redirect_uri],
            scopes=list(scopes),
            claims=list(claims),
            **extra,
        ),
    )
    return Service(client_id, secret, redirect_uri, " ".join(scopes))


@dataclass
class Authorization:
    code: str
    state: str
    nonce: str
    verifier: str


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def authorize(
    browser: httpx.AsyncClient, service: AsyncOAuth2Client, **params: Any
) -> tuple[httpx.Response, Authorization]:
    """The browser follows the service's authorization request once."""
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(24)
    params.setdefault("code_verifier", verifier)
    params.setdefault("nonce", nonce)
    url, state = service.create_authorization_url(f"{ISSUER}/authorize", **params)
    answer = await browser.get(url)
    query = query_of(answer.headers.get("location", ""))
    return answer, Authorization(query.get("code", ""), query.get("state", state), nonce, verifier)


async def verified_id_token(
    http: httpx.AsyncClient, id_token: str, client_id: str, nonce: str
) -> dict[str, Any]:
    """The ID token checked as a service does: signature against the
    provider's JWKS (read now), issuer, audience, expiry, nonce."""
    discovery = (await http.get(f"{ISSUER}/.well-known/openid-configuration")).json()
    keys = KeySet.import_key_set((await http.get(discovery["jwks_uri"])).json())
    token = jwt.decode(id_token, keys)
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True},
    ).validate(token.claims)
    return dict(token.claims)


async def tokens_for(
    browser: httpx.AsyncClient, service: AsyncOAuth2Client
) -> tuple[dict[str, Any], Authorization]:
    """The browser signs in at the service; the service exchanges the code
    (with its PKCE verifier) for its tokens."""
    _, auth = await authorize(browser, service)
    token = await service.fetch_token(
        f"{ISSUER}/token", code=auth.code, code_verifier=auth.verifier
    )
    return dict(token), auth
