"""FranceConnect relying party (DESIGN §3.3, FAQ 2.3): the OpenID Connect
authorization-code flow, checked at every step.

1. `begin_login` stores a fresh state and nonce (their HMACs) in PostgreSQL,
   bound to a random browser token (a cookie), and gives the provider's
   authorization URL (`acr_values=eidas1`).
2. `complete_login` takes the provider's answer: the state must be the one of
   this browser's pending request (single use, 10 minutes); the code is
   exchanged at the token endpoint (client secret); the ID token's signature
   is checked against the provider's JWKS, then its issuer, audience (and
   `azp`), expiry, nonce and acr. The identity is then read from the ID token
   and the userinfo endpoint (same `sub`) and kept in PostgreSQL, keyed on
   issuer + sub (`franceconnect_identities`).

The tokens never leave this module: nothing of them reaches Temporal.
Every refusal is a `DomainError` with a stable FranceConnect code.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from educonnect import policies
from educonnect.errors import DomainError, ErrorCode
from educonnect.settings import Settings, get_settings
from educonnect.tokens import hashes_equal, token_hash

log = logging.getLogger(__name__)

# Asymmetric signatures only: "none" and HS256 (keyed with the client secret,
# which a leaked secret would let anyone forge) are refused.
ACCEPTED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
)
HTTP_TIMEOUT_S = 10.0
METADATA_TTL_S = 600.0
CLOCK_LEEWAY_S = 60


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_auth_methods: tuple[str, ...]
    signing_algorithms: tuple[str, ...]


@dataclass(frozen=True)
class LoginStart:
    authorization_url: str
    browser_token: str  # for the cookie; only its HMAC is stored


@dataclass(frozen=True)
class VerifiedIdentity:
    issuer: str
    sub: str
    given_name: str
    family_name: str
    birthdate: date | None
    acr: str


@dataclass(frozen=True)
class KnownIdentity:
    """The identity row after a successful login."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    given_name: str
    family_name: str


def refuse(code: ErrorCode, reason: str) -> DomainError:
    """A refusal the person reads (French, with what to do). `reason` (the
    provider's error text, an exception's details...) is for support: it goes
    to the log, never to the browser."""
    log.warning("FranceConnect refusal %s: %s", code.value, reason)
    return DomainError(code)


class RelyingParty:
    """One provider (discovery URL + client); metadata and keys are cached."""

    def __init__(self, settings: Settings) -> None:
        if not settings.franceconnect_discovery_url:
            raise DomainError(ErrorCode.FRANCECONNECT_UNAVAILABLE)
        self.discovery_url = settings.franceconnect_discovery_url
        self.client_id = settings.franceconnect_client_id
        self.client_secret = settings.franceconnect_client_secret
        self.redirect_uri = settings.franceconnect_callback_url
        self.scopes = settings.franceconnect_scopes
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    # --- provider metadata and keys -------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_S:
                self._metadata = await self._discover()
                self._metadata_at = time.monotonic()
                self._keys = None
            return self._metadata

    async def _discover(self) -> ProviderMetadata:
        doc = await _get_json(self.discovery_url, "discovery")
        try:
            issuer = doc["issuer"]
            meta = ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=doc["authorization_endpoint"],
                token_endpoint=doc["token_endpoint"],
                jwks_uri=doc["jwks_uri"],
                userinfo_endpoint=doc.get("userinfo_endpoint"),
                token_auth_methods=tuple(
                    doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
                ),
                signing_algorithms=tuple(
                    doc.get("id_token_signing_alg_values_supported") or ["RS256"]
                ),
            )
        except (KeyError, TypeError):
            raise refuse(
                ErrorCode.FRANCECONNECT_UNAVAILABLE, "discovery document incomplete"
            ) from None
        # OpenID Connect Discovery §4.3: the issuer is the discovery URL's prefix.
        if (
            self.discovery_url.rstrip("/")
            != f"{issuer.rstrip('/')}/.well-known/openid-configuration"
        ):
            raise refuse(
                ErrorCode.FRANCECONNECT_UNAVAILABLE, "discovery issuer does not match its URL"
            )
        return meta

    async def keys(self, *, refresh: bool = False) -> KeySet:
        meta = await self.metadata()
        if self._keys is None or refresh:
            doc = await _get_json(meta.jwks_uri, "jwks")
            try:
                self._keys = KeySet.import_key_set(doc)
            except (JoseError, ValueError, TypeError, KeyError):
                raise refuse(ErrorCode.FRANCECONNECT_UNAVAILABLE, "JWKS unreadable") from None
        return self._keys

    # --- step 1: to the provider ----------------------------------------------

    async def begin_login(self, pool: asyncpg.Pool) -> LoginStart:
        meta = await self.metadata()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)  # 43 characters (>= 22 required by FranceConnect)
        browser_token = secrets.token_urlsafe(32)
        await pool.execute(
            "INSERT INTO franceconnect_logins (id, binding_hash, state_hash, nonce_hash, expires_at) "
            "VALUES ($1, $2, $3, $4, now() + $5)",
            uuid.uuid4(),
            token_hash(browser_token),
            token_hash(state),
            token_hash(nonce),
            policies.FRANCECONNECT_LOGIN_VALIDITY,
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scopes,
                "state": state,
                "nonce": nonce,
                "acr_values": policies.FRANCECONNECT_ACR_VALUES,
            }
        )
        separator = "&" if "?" in meta.authorization_endpoint else "?"
        return LoginStart(f"{meta.authorization_endpoint}{separator}{query}", browser_token)

    # --- step 2: back from the provider ---------------------------------------

    async def complete_login(
        self,
        pool: asyncpg.Pool,
        *,
        browser_token: str | None,
        state: str | None,
        code: str | None,
        error: str | None,
        iss: str | None = None,
    ) -> VerifiedIdentity:
        if error:
            # An error answer grants nothing, so it needs no proof of origin; it
            # still uses up this browser's pending request (some providers,
            # against RFC 6749, leave the state out of error answers).
            try:
                await self._consume_state(pool, browser_token, state)
            except DomainError:
                pass
            raise refuse(ErrorCode.FRANCECONNECT_DENIED, f"provider error {error[:60]!r}")
        nonce_hash = await self._consume_state(pool, browser_token, state)
        meta = await self.metadata()
        if iss is not None and iss != meta.issuer:  # RFC 9207 mix-up defence
            raise refuse(
                ErrorCode.FRANCECONNECT_TOKEN_INVALID, "authorization response from another issuer"
            )
        if not code:
            raise refuse(ErrorCode.FRANCECONNECT_DENIED, "no authorization code")

        tokens = await self._exchange(meta, code)
        claims = await self._verify_id_token(meta, tokens.get("id_token"), nonce_hash)
        if meta.userinfo_endpoint and isinstance(tokens.get("access_token"), str):
            userinfo = await self._userinfo(meta, tokens["access_token"])
            if userinfo.get("sub") != claims["sub"]:
                raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "userinfo for another subject")
            claims = {**userinfo, **claims}
        given_name, family_name = claims.get("given_name"), claims.get("family_name")
        if (
            not isinstance(given_name, str)
            or not isinstance(family_name, str)
            or not given_name
            or not family_name
        ):
            raise refuse(
                ErrorCode.FRANCECONNECT_TOKEN_INVALID, "no given_name/family_name in the identity"
            )
        return VerifiedIdentity(
            issuer=meta.issuer,
            sub=claims["sub"],
            given_name=given_name.strip(),
            family_name=family_name.strip(),
            birthdate=_parse_date(claims.get("birthdate")),
            acr=claims["acr"],
        )

    async def _consume_state(
        self, pool: asyncpg.Pool, browser_token: str | None, state: str | None
    ) -> bytes:
        """The nonce hash of this browser's pending request, if `state` is its state.
        The request is used up either way: a second callback with it is refused."""
        if not browser_token or not state:
            raise refuse(
                ErrorCode.FRANCECONNECT_STATE_INVALID, "no pending request cookie or no state"
            )
        row = await pool.fetchrow(
            "UPDATE franceconnect_logins SET used_at = now() "
            "WHERE binding_hash = $1 AND used_at IS NULL AND expires_at > now() "
            "RETURNING state_hash, nonce_hash",
            token_hash(browser_token),
        )
        if row is None:
            raise refuse(
                ErrorCode.FRANCECONNECT_STATE_INVALID, "no pending request for this browser"
            )
        if not hashes_equal(bytes(row["state_hash"]), token_hash(state)):
            raise refuse(ErrorCode.FRANCECONNECT_STATE_INVALID, "state mismatch")
        return bytes(row["nonce_hash"])

    async def _exchange(self, meta: ProviderMetadata, code: str) -> dict[str, Any]:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        auth = None
        if "client_secret_basic" in meta.token_auth_methods:
            auth = httpx.BasicAuth(self.client_id, self.client_secret)
        else:  # FranceConnect v1 documents client_secret_post
            data |= {"client_id": self.client_id, "client_secret": self.client_secret}
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
                # auth=None: no client authentication (httpx accepts it; its hints do not say so).
                response = await client.post(meta.token_endpoint, data=data, auth=auth)  # type: ignore[arg-type]
        except httpx.HTTPError as err:
            raise refuse(
                ErrorCode.FRANCECONNECT_UNAVAILABLE, f"token endpoint unreachable: {err!r}"
            ) from None
        if response.status_code in (400, 401):  # invalid_grant, invalid_client...
            raise refuse(
                ErrorCode.FRANCECONNECT_DENIED, f"token endpoint refused: {response.text[:120]!r}"
            )
        if response.status_code != 200:
            raise refuse(
                ErrorCode.FRANCECONNECT_UNAVAILABLE,
                f"token endpoint answered {response.status_code}",
            )
        try:
            tokens = response.json()
        except ValueError:
            tokens = None
        if not isinstance(tokens, dict):
            raise refuse(ErrorCode.FRANCECONNECT_UNAVAILABLE, "token endpoint answer is not JSON")
        return tokens

    async def _decode(self, meta: ProviderMetadata, value: str) -> dict[str, Any]:
        algorithms = [a for a in meta.signing_algorithms if a in ACCEPTED_ALGORITHMS] or ["RS256"]
        for attempt in range(2):  # a key rotation: fetch the JWKS once more
            keys = await self.keys(refresh=attempt > 0)
            try:
                return jwt.decode(value, keys, algorithms=algorithms).claims
            except JoseError as err:
                unknown_key = type(err).__name__ in ("InvalidKeyIdError", "MissingKeyError")
                if attempt == 0 and unknown_key:
                    continue
                raise refuse(
                    ErrorCode.FRANCECONNECT_TOKEN_INVALID, f"signature: {type(err).__name__}"
                ) from None
            except (ValueError, TypeError):
                raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "malformed token") from None
        raise AssertionError("unreachable")

    async def _verify_id_token(
        self, meta: ProviderMetadata, id_token: Any, nonce_hash: bytes
    ) -> dict[str, Any]:
        if not isinstance(id_token, str) or not id_token:
            raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "no ID token")
        claims = await self._decode(meta, id_token)
        if claims.get("iss") != meta.issuer:
            raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "issuer")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "audience")
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "authorized party")
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, (int, float)) or exp <= now - CLOCK_LEEWAY_S:
            raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "expired")
        if not isinstance(iat, (int, float)) or iat > now + CLOCK_LEEWAY_S:
            raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "issued in the future")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "subject")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hashes_equal(token_hash(nonce), nonce_hash):
            raise refuse(ErrorCode.FRANCECONNECT_NONCE_MISMATCH, "nonce")
        if claims.get("acr") not in policies.FRANCECONNECT_ACCEPTED_ACR:
            raise refuse(
                ErrorCode.FRANCECONNECT_ACR_INSUFFICIENT, f"acr {str(claims.get('acr'))[:20]!r}"
            )
        return claims

    async def _userinfo(self, meta: ProviderMetadata, access_token: str) -> dict[str, Any]:
        assert meta.userinfo_endpoint
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
                response = await client.get(
                    meta.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}
                )
        except httpx.HTTPError as err:
            raise refuse(
                ErrorCode.FRANCECONNECT_UNAVAILABLE, f"userinfo unreachable: {err!r}"
            ) from None
        if response.status_code != 200:
            raise refuse(
                ErrorCode.FRANCECONNECT_UNAVAILABLE, f"userinfo answered {response.status_code}"
            )
        if response.headers.get("content-type", "").startswith("application/jwt"):
            # Signed userinfo (FranceConnect v2): same keys, same issuer and audience.
            claims = await self._decode(meta, response.text.strip())
            audience = claims.get("aud")
            if claims.get("iss") != meta.issuer or self.client_id not in (
                audience if isinstance(audience, list) else [audience]
            ):
                raise refuse(ErrorCode.FRANCECONNECT_TOKEN_INVALID, "userinfo issuer or audience")
            return claims
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise refuse(ErrorCode.FRANCECONNECT_UNAVAILABLE, "userinfo is not JSON")
        return body


async def _get_json(url: str, what: str) -> Any:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()
    except (httpx.HTTPError, ValueError) as err:
        raise refuse(ErrorCode.FRANCECONNECT_UNAVAILABLE, f"{what} unavailable: {err!r}") from None


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


_relying_parties: dict[tuple, RelyingParty] = {}


def relying_party(settings: Settings | None = None) -> RelyingParty:
    """The relying party of the current settings (one per configuration, cached)."""
    settings = settings or get_settings()
    key = (
        settings.franceconnect_discovery_url,
        settings.franceconnect_client_id,
        settings.franceconnect_client_secret,
        settings.franceconnect_callback_url,
        settings.franceconnect_scopes,
    )
    if key not in _relying_parties:
        _relying_parties[key] = RelyingParty(settings)
    return _relying_parties[key]


async def remember_identity(pool: asyncpg.Pool, identity: VerifiedIdentity) -> KnownIdentity:
    """Insert or refresh the identity (issuer + sub) and return its row."""
    row = await pool.fetchrow(
        """
        INSERT INTO franceconnect_identities (id, issuer, sub, given_name, family_name, birthdate, acr)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (issuer, sub) DO UPDATE
            SET given_name = excluded.given_name, family_name = excluded.family_name,
                birthdate = excluded.birthdate, acr = excluded.acr, last_seen_at = now()
        RETURNING id, account_id, given_name, family_name
        """,
        uuid.uuid4(),
        identity.issuer,
        identity.sub,
        identity.given_name,
        identity.family_name,
        identity.birthdate,
        identity.acr,
    )
    return KnownIdentity(row["id"], row["account_id"], row["given_name"], row["family_name"])
