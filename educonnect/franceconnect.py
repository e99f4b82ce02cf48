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

3. Sign-out (`begin_logout`, `complete_logout`): the ID token of the
   sign-in is kept in PostgreSQL with the portal session it opened
   (`franceconnect_sessions`); signing out sends the browser to the
   provider's `end_session_endpoint` with it as `id_token_hint`, a fresh
   `state` (its HMAC kept, bound to the browser by a cookie) and the
   `post_logout_redirect_uri`; the state is checked when the provider sends
   the browser back.

Scopes are FranceConnect's own names (`FRANCECONNECT_SCOPES`, by default
`openid given_name family_name`: what the first visit matches on); a provider
whose discovery document does not advertise one of them is refused at
start-up (`check_provider_scopes`) and at every discovery.

The tokens never leave this module and PostgreSQL: nothing of them reaches
Temporal. Every refusal is a `DomainError` with a stable FranceConnect code.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
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
    end_session_endpoint: str | None = None
    scopes_supported: tuple[str, ...] | None = None  # None: not advertised


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
    id_token: str = field(default="", repr=False)  # the logout's id_token_hint (PostgreSQL only)


@dataclass(frozen=True)
class LogoutStart:
    end_session_url: str
    browser_token: str  # for the cookie; only its HMAC is stored


class ProviderScopesError(RuntimeError):
    """The provider does not advertise a scope FRANCECONNECT_SCOPES asks for;
    the message names it (the API refuses to start)."""


@dataclass(frozen=True)
class KnownIdentity:
    """The identity row after a successful login."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    given_name: str
    family_name: str


LOGIN_PATH = "/franceconnect/login"  # where every refusal leads back to


def refuse(code: ErrorCode, reason: str) -> DomainError:
    """A refusal the person reads (French, with what to do, and `next`: the way
    back to "S'identifier avec FranceConnect"). `reason` (the provider's error
    text, an exception's details...) is for support: it goes to the log,
    never to the browser."""
    log.warning("FranceConnect refusal %s: %s", code.value, reason)
    return DomainError(code, [{"next": LOGIN_PATH}])


# The provider's error answers (OpenID Connect Core 3.1.2.6, FranceConnect's
# "gérer les erreurs"): the person went back, or the provider is down.
_PROVIDER_ERRORS = {
    "access_denied": ErrorCode.FRANCECONNECT_CANCELLED,
    "server_error": ErrorCode.FRANCECONNECT_UNAVAILABLE,
    "temporarily_unavailable": ErrorCode.FRANCECONNECT_UNAVAILABLE,
}


def missing_scopes(requested: str, supported: tuple[str, ...] | None) -> list[str]:
    """The scopes of `requested` the provider does not advertise."""
    if supported is None:
        return []
    return [scope for scope in requested.split() if scope not in supported]


class RelyingParty:
    """One provider (discovery URL + client); metadata and keys are cached."""

    def __init__(self, settings: Settings) -> None:
        if not settings.franceconnect_discovery_url:
            raise DomainError(ErrorCode.FRANCECONNECT_UNAVAILABLE)
        self.discovery_url = settings.franceconnect_discovery_url
        self.client_id = settings.franceconnect_client_id
        self.client_secret = settings.franceconnect_client_secret
        self.redirect_uri = settings.franceconnect_callback_url
        self.post_logout_redirect_uri = settings.franceconnect_logout_callback_url
        self.scopes = settings.franceconnect_scopes
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    # --- provider metadata and keys -------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_S:
                meta = await self._discover()
                if missing := missing_scopes(self.scopes, meta.scopes_supported):
                    raise refuse(ErrorCode.FRANCECONNECT_UNAVAILABLE, self.scopes_problem(missing))
                self._metadata = meta
                self._metadata_at = time.monotonic()
                self._keys = None
            return self._metadata

    def scopes_problem(self, missing: list[str]) -> str:
        return (
            f"the provider ({self.discovery_url}) does not support the scope "
            f"{', '.join(repr(s) for s in missing)} that FRANCECONNECT_SCOPES "
            f"({self.scopes!r}) asks for: ask only for FranceConnect's scope names, "
            "e.g. FRANCECONNECT_SCOPES='openid given_name family_name'"
        )

    async def check_scopes(self) -> None:
        """Start-up: raise `ProviderScopesError` naming a scope the provider
        does not advertise. An unreachable provider is only logged (the API
        serves the rest; FranceConnect answers `franceconnect_unavailable`
        until it is back, and the check runs again at each discovery)."""
        try:
            meta = await self._discover()
        except DomainError:
            log.warning("FranceConnect provider unreachable at start-up: %s", self.discovery_url)
            return
        if missing := missing_scopes(self.scopes, meta.scopes_supported):
            raise ProviderScopesError(f"FranceConnect: {self.scopes_problem(missing)}.")

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
                end_session_endpoint=doc.get("end_session_endpoint"),
                scopes_supported=(
                    tuple(doc["scopes_supported"]) if "scopes_supported" in doc else None
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
        nonce = secrets.token_urlsafe(32)  # 43 characters (>= 22 required by FranceConnect)
        state, browser_token = await _pending(
            pool, "franceconnect_logins", policies.FRANCECONNECT_LOGIN_VALIDITY, nonce
        )
        url = _with_query(
            meta.authorization_endpoint,
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scopes,
                "state": state,
                "nonce": nonce,
                "acr_values": policies.FRANCECONNECT_ACR_VALUES,
            },
        )
        return LoginStart(url, browser_token)

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
            code = _PROVIDER_ERRORS.get(error, ErrorCode.FRANCECONNECT_DENIED)
            raise refuse(code, f"provider error {error[:60]!r}")
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
            id_token=tokens["id_token"],
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

    # --- step 3: sign-out, at the provider too ----------------------------------

    async def begin_logout(self, pool: asyncpg.Pool, id_token: str) -> LogoutStart | None:
        """The provider's end-session URL for the sign-in of `id_token`, with a
        fresh state bound to this browser (its HMAC stored); None when the
        provider has no end-session endpoint or cannot be reached (the person
        is signed out of EduConnect all the same)."""
        try:
            meta = await self.metadata()
        except DomainError:
            return None
        if not meta.end_session_endpoint:
            return None
        state, browser_token = await _pending(
            pool, "franceconnect_logouts", policies.FRANCECONNECT_LOGOUT_VALIDITY
        )
        url = _with_query(
            meta.end_session_endpoint,
            {
                "id_token_hint": id_token,
                "state": state,
                "post_logout_redirect_uri": self.post_logout_redirect_uri,
            },
        )
        return LogoutStart(url, browser_token)


async def _pending(
    pool: asyncpg.Pool, table: str, validity, nonce: str | None = None
) -> tuple[str, str]:
    """A request to the provider waiting for its answer (`franceconnect_logins`
    or `_logouts`): a fresh state and browser token (and the nonce), only
    their HMACs stored. Returns (state, browser token)."""
    state, browser_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    hashes = {"binding_hash": browser_token, "state_hash": state}
    if nonce is not None:
        hashes["nonce_hash"] = nonce
    places = ", ".join(f"${i}" for i in range(3, 3 + len(hashes)))
    await pool.execute(
        f"INSERT INTO {table} (id, expires_at, {', '.join(hashes)}) "
        f"VALUES ($1, now() + $2, {places})",
        uuid.uuid4(),
        validity,
        *(token_hash(secret) for secret in hashes.values()),
    )
    return state, browser_token


def _with_query(endpoint: str, params: dict[str, str]) -> str:
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"


async def complete_logout(pool: asyncpg.Pool, browser_token: str | None, state: str | None) -> None:
    """The provider sent the browser back: `state` must be the one of this
    browser's pending logout (single use, 10 minutes)."""
    if not browser_token or not state:
        raise DomainError(ErrorCode.FRANCECONNECT_LOGOUT_STATE_INVALID)
    row = await pool.fetchrow(
        "UPDATE franceconnect_logouts SET used_at = now() "
        "WHERE binding_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING state_hash",
        token_hash(browser_token),
    )
    if row is None or not hashes_equal(bytes(row["state_hash"]), token_hash(state)):
        log.warning("FranceConnect logout: no pending logout for this browser, or another state")
        raise DomainError(ErrorCode.FRANCECONNECT_LOGOUT_STATE_INVALID)


async def remember_franceconnect_session(
    pool: asyncpg.Pool, session_token: str, identity_id: uuid.UUID, id_token: str
) -> None:
    """Keep the sign-in's ID token with the portal session it opened (the
    logout's `id_token_hint`); removed with the session, or at sign-out."""
    await pool.execute(
        """
        INSERT INTO franceconnect_sessions (session_id, identity_id, id_token)
        SELECT id, $2, $3 FROM sessions WHERE token_hash = $1
        ON CONFLICT (session_id) DO NOTHING
        """,
        token_hash(session_token),
        identity_id,
        id_token,
    )


async def take_franceconnect_id_token(pool: asyncpg.Pool, session_token: str) -> str | None:
    """The ID token of a session opened through FranceConnect (taken: used once)."""
    return await pool.fetchval(
        "DELETE FROM franceconnect_sessions f USING sessions s "
        "WHERE f.session_id = s.id AND s.token_hash = $1 RETURNING f.id_token",
        token_hash(session_token),
    )


async def check_provider_scopes(settings: Settings | None = None) -> None:
    """Start-up check of the API (see `RelyingParty.check_scopes`)."""
    settings = settings or get_settings()
    if settings.franceconnect_discovery_url:
        await RelyingParty(settings).check_scopes()


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
        settings.franceconnect_logout_callback_url,
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
