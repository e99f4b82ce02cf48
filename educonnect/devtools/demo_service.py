"""« ENT de démonstration »: a small school service on loopback that signs
families in with EduConnect (DESIGN §10), for the development stack and the
tests. It is a relying party written with an independent client library
(Authlib's httpx client for the code exchange with PKCE S256, joserfc to
verify the ID token and the logout token against the provider's JWKS), not
with the provider's code.

- `/`: who is signed in (names, profile) and their children (school, class),
  or « Se connecter avec EduConnect »;
- `/connexion`: starts the sign-in (state, nonce, PKCE); the portal's ENT
  tile leads here (its `initiate_login_uri`);
- `/callback`: the code exchanged, the ID token verified, a session opened;
- `/backchannel-logout`: EduConnect's signed logout token verified (issuer,
  audience, event, no nonce, signature), the matching session ended.

Runs in the caller's event loop (`await service.start()`), so an in-process
provider (`provider_transport`, tests) can be reached too."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from html import escape
from typing import Any

import httpx
import uvicorn
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from educonnect.devtools.oidc_provider import _bind

NAME = "ENT de démonstration"
SCOPE = "openid profile affiliations schooling"
CLAIMS = ["given_name", "family_name", "affiliations", "school_uai", "class_name", "children"]
COOKIE = "ent_demo_session"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass
class DemoSession:
    claims: dict[str, Any]
    id_token: str


@dataclass
class DemoService:
    issuer: str  # EduConnect's issuer (<base>/oidc)
    client_id: str = "ent-demo"
    client_secret: str = "dev-ent-demo-secret"
    host: str = "127.0.0.1"
    port: int = 0
    provider_transport: httpx.AsyncBaseTransport | None = None
    sessions: dict[str, DemoSession] = field(default_factory=dict)
    logouts: list[dict[str, Any]] = field(default_factory=list)  # verified logout tokens
    refused_logouts: int = 0
    _pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # state -> verifier, nonce
    _server: uvicorn.Server | None = None
    _task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def registration(self) -> dict[str, Any]:
        """Its registration with EduConnect (SERVICE_CLIENTS, or `service_clients.register`)."""
        return {
            "client_id": self.client_id,
            "name": NAME,
            "client_secret": self.client_secret,
            "redirect_uris": [f"{self.url}/callback"],
            "post_logout_redirect_uris": [f"{self.url}/"],
            "scopes": SCOPE.split(),
            "claims": CLAIMS,
            "backchannel_logout_uri": f"{self.url}/backchannel-logout",
            "portal_service": "ent",
            "initiate_login_uri": f"{self.url}/connexion",
        }

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> DemoService:
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app(), log_level="warning", access_log=False, log_config=None, lifespan="off"
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._server = self._task = None

    # --- talking to EduConnect -------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.provider_transport, timeout=10)

    async def _metadata(self) -> dict[str, Any]:
        async with self._http() as http:
            answer = await http.get(f"{self.issuer}/.well-known/openid-configuration")
            answer.raise_for_status()
            return answer.json()

    async def _keys(self, jwks_uri: str) -> KeySet:
        async with self._http() as http:
            return KeySet.import_key_set((await http.get(jwks_uri)).json())

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=SCOPE,
            redirect_uri=f"{self.url}/callback",
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            transport=self.provider_transport,
        )

    async def verified(self, token: str, **expected: Any) -> dict[str, Any]:
        metadata = await self._metadata()
        decoded = jwt.decode(token, await self._keys(metadata["jwks_uri"]))
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True, "value": self.client_id},
            **{k: {"essential": True, "value": v} for k, v in expected.items()},
        }
        jwt.JWTClaimsRegistry(**options).validate(decoded.claims)
        return dict(decoded.claims)

    # --- the pages ----------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI(title=NAME, openapi_url=None, docs_url=None)

        @app.get("/", response_class=HTMLResponse)
        async def home(request: Request) -> str:
            session = self.sessions.get(request.cookies.get(COOKIE, ""))
            return _page(session, self.issuer, self.url)

        @app.get("/connexion")
        async def sign_in() -> Response:
            metadata = await self._metadata()
            verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(24)
            async with self._client() as client:
                url, state = client.create_authorization_url(
                    metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
                )
            self._pending[state] = (verifier, nonce)
            return RedirectResponse(url, status_code=303)

        @app.get("/callback")
        async def callback(request: Request) -> Response:
            state = request.query_params.get("state", "")
            pending = self._pending.pop(state, None)
            code = request.query_params.get("code")
            if pending is None or not code:
                error = request.query_params.get("error", "état inconnu")
                return HTMLResponse(_shell(f"<p>Connexion refusée : {escape(error)}</p>"), 400)
            verifier, nonce = pending
            metadata = await self._metadata()
            async with self._client() as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=verifier
                )
            claims = await self.verified(token["id_token"], nonce=nonce)
            cookie = secrets.token_urlsafe(24)
            self.sessions[cookie] = DemoSession(claims, token["id_token"])
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, cookie, httponly=True, samesite="lax")
            return response

        @app.post("/backchannel-logout")
        async def backchannel_logout(logout_token: str = Form("")) -> Response:
            try:
                claims = await self.verified(logout_token)
            except (JoseError, ValueError):
                self.refused_logouts += 1
                return Response(status_code=400)
            if LOGOUT_EVENT not in claims.get("events", {}) or "nonce" in claims:
                self.refused_logouts += 1
                return Response(status_code=400)
            self.logouts.append(claims)
            for cookie, session in list(self.sessions.items()):
                if session.claims.get("sid") == claims.get("sid"):
                    del self.sessions[cookie]
            return Response(status_code=200, headers={"Cache-Control": "no-store"})

        return app

    def signed_in_subjects(self) -> list[str]:
        return [s.claims["sub"] for s in self.sessions.values()]


class _QuietServer(uvicorn.Server):
    """Leaves the signals to whoever runs the event loop (the stack, the tests)."""

    def capture_signals(self):
        return contextlib.nullcontext()


_AFFILIATIONS = {
    "resp1d": "responsable (premier degré)",
    "resp2d": "responsable (second degré)",
    "eleve1d": "élève (premier degré)",
    "eleve2d": "élève (second degré)",
}


def _shell(body: str) -> str:
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{NAME}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:0;color:#161616;background:#f6f6f6}"
        "header{background:#fff;border-bottom:3px solid #000091;padding:1rem 1.5rem}"
        "header p{margin:0;font-weight:700;font-size:1.25rem}"
        "main{max-width:48rem;margin:0 auto;padding:1.5rem}"
        "section{background:#fff;padding:1rem 1.5rem;margin-bottom:1rem;border:1px solid #ddd}"
        "a.button{display:inline-block;background:#000091;color:#fff;padding:.5rem 1rem;"
        "text-decoration:none}li{margin:.25rem 0}"
        "</style></head><body><header><p>" + NAME + "</p></header>"
        f"<main>{body}</main></body></html>"
    )


def _page(session: DemoSession | None, issuer: str, url: str) -> str:
    if session is None:
        return _shell(
            '<section data-signed-out><h1>Vous n’êtes pas connecté</h1><p><a class="button" '
            'href="/connexion">Se connecter avec EduConnect</a></p></section>'
        )
    c = session.claims
    profiles = ", ".join(_AFFILIATIONS.get(a, a) for a in c.get("affiliations", []))
    children = "".join(
        f"<li data-child>{escape(k['given_name'])} {escape(k['family_name'])} — classe "
        f"{escape(k['class_name'])}, {escape(k.get('school_name', ''))} ({escape(k['school_uai'])})</li>"
        for k in c.get("children", [])
    )
    pupil = (
        f"<p>Établissement {escape(c['school_uai'])}, classe {escape(c['class_name'])}</p>"
        if "school_uai" in c
        else ""
    )
    logout = f"{issuer}/logout?id_token_hint={session.id_token}&post_logout_redirect_uri={url}/"
    return _shell(
        f"<section data-signed-in><h1>Bonjour {escape(c.get('given_name', ''))} "
        f"{escape(c.get('family_name', ''))}</h1>"
        f"<p>Connecté avec EduConnect{f' — {escape(profiles)}' if profiles else ''}.</p>{pupil}"
        f"<p>Identifiant pour ce service : <code>{escape(c['sub'])}</code></p></section>"
        + (f"<section><h2>Vos enfants</h2><ul>{children}</ul></section>" if children else "")
        + f'<p><a class="button" href="{escape(logout)}">Se déconnecter</a></p>'
    )
