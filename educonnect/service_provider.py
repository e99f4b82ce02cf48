"""EduConnect as an OpenID Connect provider for the school services
(DESIGN §10), on Authlib's authorization server: the authorization code grant
with PKCE (S256 only, always required), OpenID Connect's ID token, client
authentication by `client_secret_basic` or `private_key_jwt`.

Authlib's server is synchronous; the routes (`api.routers.service_sign_in`)
run it in a worker thread (`asyncio.to_thread`) and its storage callbacks
come back to the event loop for PostgreSQL (`ServiceProvider.wait`). Codes,
tokens and secrets live in PostgreSQL only (`educonnect.service_grants`,
`educonnect.service_clients`); the signing key in `educonnect.signing_keys`."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Payload,
    OAuth2Request,
    grants,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet, RSAKey

from educonnect import accounts, audit, service_grants
from educonnect.policies import (
    CLIENT_ASSERTION_LEEWAY,
    SERVICE_ACCESS_TOKEN_VALIDITY,
    SERVICE_ID_TOKEN_VALIDITY,
)
from educonnect.service_claims import SCOPES, claims_for
from educonnect.service_clients import PRIVATE_KEY_JWT, SECRET_BASIC, ServiceClient, find
from educonnect.service_history import SERVICE_SIGN_IN
from educonnect.signing_keys import ALGORITHM

# Authlib logs the tokens it issues at DEBUG ("Issue token ..."): never, whatever
# the level an operator turns on, do codes, tokens or secrets reach a log.
logging.getLogger("authlib").setLevel(logging.WARNING)

T = TypeVar("T")
BRIDGE_TIMEOUT_S = 30


@dataclass(frozen=True)
class Answer:
    """What Authlib answers: an HTTP status, a body (dict or text), headers."""

    status: int
    body: Any
    headers: list[tuple[str, str]]


@dataclass(frozen=True)
class ServiceUser:
    """The person signing in, through their EduConnect session."""

    account_id: uuid.UUID
    session_id: uuid.UUID
    client: ServiceClient | None = None


class _Payload(OAuth2Payload):
    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._datalist.items()}

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._datalist


class ProviderRequest(OAuth2Request):
    """An HTTP request as Authlib reads it (query and form already parsed)."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(method, url, headers=headers)
        self._args = dict(query)
        self._form = dict(form or [])
        self.payload = _Payload([*query, *(form or [])])

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class ServiceProvider(AuthorizationServer):
    """One per request: the pool, the issuer, the event loop to come back to,
    and the key that signs now."""

    def __init__(
        self, pool: asyncpg.Pool, issuer: str, loop: asyncio.AbstractEventLoop, key: RSAKey
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.pool, self.issuer, self.loop, self.key = pool, issuer, loop, key
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: secrets.token_urlsafe(32),
                None,
                int(SERVICE_ACCESS_TOKEN_VALIDITY.total_seconds()),
            ),
        )
        self.register_client_auth_method(PRIVATE_KEY_JWT, PrivateKeyJwt(self))
        self.register_grant(CodeGrant, [StrictPkce(), IdToken(self)])

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    def wait(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the event loop and wait for it (called from Authlib's thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(BRIDGE_TIMEOUT_S)

    # --- Authlib's framework hooks ------------------------------------------------------

    def query_client(self, client_id: str) -> ServiceClient | None:
        return self.wait(find(self.pool, client_id))

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        code = request.authorization_code
        assert isinstance(code, service_grants.IssuedCode) and isinstance(
            request.client, ServiceClient
        )
        self.wait(_saved_and_audited(self.pool, token, code, request.client))

    def create_oauth2_request(self, request: ProviderRequest) -> ProviderRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Answer:
        return Answer(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def validate_requested_scope(self, scope: str) -> None:
        """Scopes it does not know are left out (`ServiceClient.get_allowed_scope`)."""


async def _saved_and_audited(
    pool: asyncpg.Pool,
    token: dict[str, Any],
    code: service_grants.IssuedCode,
    client: ServiceClient,
) -> None:
    """The token stored (its HMAC), and the sign-in audited: who, which
    service, which claims it received (DESIGN §10)."""
    await service_grants.save_token(pool, token["access_token"], code, token["scope"])
    holder = await accounts.holder(pool, code.account_id)
    # The claims as delivered (a guardian has no class of their own, a pupil no children).
    delivered = await claims_for(
        pool, code.account_id, client.sector, token["scope"], client.claims
    )
    await audit.record(
        pool,
        audit.Actor("family", code.account_id, holder["identifier"] if holder else ""),
        SERVICE_SIGN_IN,
        "account",
        code.account_id,
        details={
            "client_id": client.client_id,
            "service": client.name,
            "claims": sorted(delivered),
        },
    )


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [SECRET_BASIC, PRIVATE_KEY_JWT]
    server: ServiceProvider

    def validate_authorization_request(self) -> str:
        redirect_uri = super().validate_authorization_request()
        if "openid" not in (scope_to_list(self.request.scope or "") or []):
            raise InvalidScopeError("The 'openid' scope is required.", redirect_uri=redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        user, data = request.user, request.payload.data
        assert isinstance(user, ServiceUser)
        self.server.wait(
            service_grants.save_code(
                self.server.pool,
                code,
                client_id=request.client.get_client_id(),
                account_id=user.account_id,
                session_id=user.session_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                nonce=data.get("nonce"),
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
            )
        )

    def query_authorization_code(self, code: str, client: ServiceClient):
        return self.server.wait(service_grants.find_code(self.server.pool, code, client.client_id))

    def delete_authorization_code(self, authorization_code: service_grants.IssuedCode) -> None:
        if not self.server.wait(
            service_grants.use_code(self.server.pool, authorization_code.code_hash)
        ):
            raise InvalidGrantError("Invalid 'code' in request.")

    def authenticate_user(self, authorization_code: service_grants.IssuedCode):
        session = authorization_code.session_id
        if not self.server.wait(service_grants.session_alive(self.server.pool, session)):
            return None  # signed out of EduConnect since
        return ServiceUser(authorization_code.account_id, session, self.request.client)


class StrictPkce(CodeChallenge):
    """PKCE on every request, S256 only (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE is required).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        return super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant, result):
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        return super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.code_challenge_method


class IdToken(OpenIDCode):
    """The ID token: signed by the current key, the service's claims, the `sid`."""

    def __init__(self, server: ServiceProvider) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def resolve_client_private_key(self, client: ServiceClient) -> RSAKey:
        return self.server.key

    def get_client_algorithm(self, client: ServiceClient) -> str:
        return ALGORITHM

    def get_encode_header(self, client: ServiceClient) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": str(self.server.key.kid), "typ": "JWT"}

    def get_client_claims(self, client: ServiceClient) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.server.issuer,
            "aud": client.client_id,
            "iat": now,
            "exp": now + int(SERVICE_ID_TOKEN_VALIDITY.total_seconds()),
        }

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # the service checks the nonce it sent

    def generate_user_info(self, user: ServiceUser, scope: str) -> dict[str, Any]:
        assert user.client is not None
        return self.server.wait(_id_token_claims(self.server.pool, user, user.client, scope))


async def _id_token_claims(
    pool: asyncpg.Pool, user: ServiceUser, client: ServiceClient, scope: str
) -> dict[str, Any]:
    claims = await claims_for(pool, user.account_id, client.sector, scope, client.claims)
    sid = await service_grants.service_session(
        pool, user.session_id, client.client_id, user.account_id
    )
    return {**claims, "sid": str(sid)}


class PrivateKeyJwt(JWTBearerClientAssertion):
    """`private_key_jwt` (RFC 7523): an assertion signed with the service's key,
    for this token endpoint, never replayed."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, server: ServiceProvider) -> None:
        # The leeway after `exp` its id is kept for (`service_grants.assertion_first_seen`).
        super().__init__(validate_jti=True, leeway=int(CLIENT_ASSERTION_LEEWAY.total_seconds()))
        self.server = server

    def get_audiences(self) -> list[str]:
        return [self.server.token_endpoint, self.server.issuer]

    def validate_jti(self, claims, jti: str) -> bool:
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        return self.server.wait(
            service_grants.assertion_first_seen(self.server.pool, claims["sub"], jti, expires)
        )

    def resolve_client_public_key(self, client: ServiceClient) -> KeySet:
        return KeySet.import_key_set(client.jwks or {"keys": []})  # type: ignore[arg-type]
