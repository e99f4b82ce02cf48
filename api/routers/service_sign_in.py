"""EduConnect's OpenID Connect provider for the school services (DESIGN §10),
under the issuer `<PUBLIC_BASE_URL>/oidc` (OIDC_ISSUER_URL):

| endpoint                                  | what                                        |
|-------------------------------------------|---------------------------------------------|
| GET  /oidc/.well-known/openid-configuration | discovery                                 |
| GET  /oidc/jwks                           | the signing keys (retired ones a while)     |
| GET  /oidc/authorize                      | authorization code + PKCE S256, the session |
| POST /oidc/token                          | client_secret_basic or private_key_jwt      |
| GET/POST /oidc/userinfo                   | the service's claims (Bearer access token)  |
| GET  /oidc/logout                         | end-session: EduConnect and its services    |

The authorization endpoint reuses the EduConnect session: signed in, the
browser goes straight back to the service with a code; not signed in, to the
sign-in page (`api.web.service_return` brings it back afterwards). A request
that cannot go back to the service (unknown client, redirect URI not exactly
registered) gets a French page, never a redirect. The protocol itself is
Authlib's (`educonnect.service_provider`)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oidc.rpinitiated import EndSessionEndpoint
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.deps import SESSION_COOKIE, Pool, clear_session_cookie
from api.routers.franceconnect import set_logout_cookie
from api.routers.sign_in import sign_out_session
from api.web import paths
from api.web.forms import HOME_FORM, notice, render_message
from api.web.service_return import forget_service, remember_service
from educonnect import service_grants, sessions
from educonnect.errors import ErrorCode
from educonnect.service_claims import CLAIMS, SCOPES, claims_for
from educonnect.service_clients import PRIVATE_KEY_JWT, SECRET_BASIC, find
from educonnect.service_provider import Answer, ProviderRequest, ServiceProvider, ServiceUser
from educonnect.settings import get_settings
from educonnect.signing_keys import ALGORITHM, published, signing_key

router = APIRouter(prefix="/oidc", tags=["Connexion aux services"], include_in_schema=False)

DISCOVERY = "/.well-known/openid-configuration"


def _issuer() -> str:
    return get_settings().oidc_issuer


async def _provider(pool: asyncpg.Pool) -> ServiceProvider:
    provider = ServiceProvider(pool, _issuer(), asyncio.get_running_loop(), await signing_key(pool))
    return provider


def _request(request: Request, path: str, form: list[tuple[str, str]] | None = None):
    """The request as Authlib reads it, at the issuer's address (not the
    address the proxy or test client used)."""
    url = f"{_issuer()}{path}"
    if request.url.query:
        url += f"?{request.url.query}"
    return ProviderRequest(
        request.method, url, request.headers, list(request.query_params.multi_items()), form
    )


def _answer(answer: Answer) -> Response:
    headers = dict(answer.headers)
    if answer.status in (301, 302, 303) and "Location" in headers:
        return RedirectResponse(headers["Location"], status_code=303)
    if isinstance(answer.body, dict):
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)
    return Response(answer.body, status_code=answer.status, headers=headers)


@router.get(DISCOVERY)
async def discovery() -> dict[str, Any]:
    issuer = _issuer()
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_methods_supported": [SECRET_BASIC, PRIVATE_KEY_JWT],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(SCOPES),
        "claims_supported": [*CLAIMS, "sid", "nonce", "auth_time"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


@router.get("/jwks")
async def jwks(pool: Pool) -> JSONResponse:
    keys = await published(pool)
    return JSONResponse(keys.as_dict(private=False), headers={"Cache-Control": "max-age=60"})


async def _signed_in(request: Request, pool: asyncpg.Pool) -> ServiceUser | None:
    token = request.cookies.get(SESSION_COOKIE)
    session = await sessions.find_session(pool, token) if token else None
    if session is None or session.scope != "portal":
        return None
    return ServiceUser(session.account_id, session.id)


def _refusal_page(error: OAuth2Error) -> Response:
    """A request that cannot go back to the service: a page, never a redirect."""
    if isinstance(error, InvalidClientError):
        code = ErrorCode.SERVICE_UNKNOWN
    elif "Redirect URI" in (error.description or "") or "redirect_uri" in (error.description or ""):
        code = ErrorCode.SERVICE_REDIRECT_URI_INVALID
    else:
        code = ErrorCode.SERVICE_REQUEST_INVALID
    return render_message(
        "Connexion au service impossible",
        code.message,
        status_code=code.status,
        code=code.value,
        extra_html=f'<p><a class="fr-btn fr-btn--secondary" href="{paths.HOME}">Aller à l’accueil d’EduConnect</a></p>',
    )


@router.get("/authorize")
async def authorize(request: Request, pool: Pool) -> Response:
    provider = await _provider(pool)
    oauth_request = _request(request, "/authorize")
    user = await _signed_in(request, pool)
    try:
        grant = await asyncio.to_thread(provider.get_consent_grant, oauth_request, user)
    except OAuth2Error as error:
        if error.redirect_uri is None:
            return _refusal_page(error)
        return _answer(provider.handle_error_response(oauth_request, error))
    if user is None:  # sign in first (or activate), then come back here
        name = grant.request.client.name
        to_sign_in = notice(
            paths.HOME,
            HOME_FORM,
            f"Connectez-vous pour accéder au service « {name} ».",
            kind="info",
        )
        remember_service(to_sign_in, f"{request.url.path}?{request.url.query}")
        return to_sign_in
    answer = await asyncio.to_thread(
        provider.create_authorization_response, oauth_request, user, grant
    )
    response = _answer(answer)
    forget_service(response)
    return response


@router.post("/token")
async def token(request: Request, pool: Pool) -> Response:
    form = await request.form()
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    provider = await _provider(pool)
    answer = await asyncio.to_thread(
        provider.create_token_response, _request(request, "/token", fields)
    )
    return _answer(answer)


def _invalid_token() -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_token"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


@router.api_route("/userinfo", methods=["GET", "POST"])
async def userinfo(request: Request, pool: Pool) -> JSONResponse:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        return _invalid_token()
    found = await service_grants.find_token(pool, value.strip())
    client = await find(pool, found.client_id) if found else None
    if found is None or client is None:
        return _invalid_token()
    claims = await claims_for(pool, found.account_id, client.sector, found.scope, client.claims)
    return JSONResponse(claims, headers={"Cache-Control": "no-store"})


class _EndSession(EndSessionEndpoint):
    """Authlib's RP-initiated logout checks (the ID token hint was ours, the
    post-logout address registered); the logout itself is ours, after."""

    def __init__(self, server: ServiceProvider, keys) -> None:
        super().__init__(server)
        self.keys = keys

    def get_server_jwks(self):
        return self.keys

    def end_session(self, end_session_request) -> None:
        return None


@router.get("/logout")
async def end_session(request: Request, pool: Pool) -> Response:
    """End-session: signed out of EduConnect (and its services, and FranceConnect
    when the session came from it), back to the service's registered address."""
    provider = await _provider(pool)
    provider.register_endpoint(_EndSession(provider, await published(pool)))
    oauth_request = _request(request, "/logout")
    try:
        checked = await asyncio.to_thread(
            provider.validate_endpoint_request, "end_session", oauth_request
        )
    except OAuth2Error:
        checked = None
    logout = await sign_out_session(pool, request.cookies.get(SESSION_COOKIE))
    response: Response
    if logout is not None:  # FranceConnect's end_session first (it requires it)
        response = RedirectResponse(logout.end_session_url, status_code=303)
        set_logout_cookie(response, logout.browser_token)
    elif checked is not None and checked.redirect_uri:
        response = RedirectResponse(checked.redirect_uri, status_code=303)
    else:
        response = render_message("Vous êtes déconnecté", "Vous êtes déconnecté d’EduConnect.")
    clear_session_cookie(response)
    forget_service(response)
    return response
