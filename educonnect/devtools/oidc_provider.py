"""OpenID Connect providers on loopback, the far side of the network boundary
the FranceConnect relying party (`educonnect.franceconnect`) talks to.

Two of them, both speaking the real protocol over HTTP (discovery, JWKS,
authorization endpoint with a form, token endpoint, userinfo):

- `LoopbackOidcProvider`, our own provider with joserfc-signed tokens, in
  FranceConnect v2's shape (its scope names only, the identity in a signed
  userinfo JWT, a provider session that `end_session_endpoint` ends,
  `access_denied` when the person goes back): the development stack's
  FranceConnect and the one the workflow and end-to-end tests use. Its
  authorization page lists the identities as buttons (or `POST <authorize
  URL> sub=<sub>`). It can misbehave on request (`misbehave_once`): a
  tampered token, a foreign key, a wrong nonce, acr, issuer or audience; the
  tests use it to prove that each of these is refused.
- `MockProvider` runs PyPI's `oidc-provider-mock` (Flask, authlib) in a
  thread: a third-party implementation of a generic provider (`profile`
  scope, claims in the ID token), for the interoperability tests only
  (`FRANCECONNECT_SCOPES="openid profile"`); it cannot speak FranceConnect's
  shape (fixed scopes, no provider session to end).

Demo identities (development stack): `demo_identities(pool)` gives one per
demo guardian among the first few guardians with a mobile on file and
children, in a stable order; the stack prints them. To try a FranceConnect
first visit: open `/franceconnect/login`, pick the guardian's `sub` on the
provider's page, enter the printed mobile, read the code on the dev SMS page,
enter the printed child's birthdate.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import uvicorn
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class ProviderIdentity:
    """A person as the provider knows them (FranceConnect's pivot identity)."""

    sub: str
    given_name: str
    family_name: str
    birthdate: date | None = None
    acr: str = "eidas1"
    label: str = ""  # who this is, for people reading the stack's summary
    gender: str = "female"
    birthplace: str = "69123"  # INSEE code (Lyon)
    birthcountry: str = "99100"  # France

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "gender": self.gender,
            "birthplace": self.birthplace,
            "birthcountry": self.birthcountry,
            "acr": self.acr,
        }
        if self.birthdate:
            claims["birthdate"] = self.birthdate.isoformat()
        return claims


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


# --- oidc-provider-mock ---------------------------------------------------------


class MockProvider:
    """PyPI `oidc-provider-mock` on loopback, in a thread (werkzeug server).

    Nonces are required; any client id and secret are accepted."""

    def __init__(
        self, identities: Iterable[ProviderIdentity] = (), host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.identities = list(identities)
        self.host, self.port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def discovery_url(self) -> str:
        return self.url + DISCOVERY_PATH

    def start(self) -> MockProvider:
        import warnings

        import werkzeug.serving

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # authlib's deprecation notices
            import oidc_provider_mock

        app = oidc_provider_mock.app(
            require_nonce=True,
            user_claims=[
                oidc_provider_mock.User(sub=i.sub, claims=i.claims()) for i in self.identities
            ],
        )
        self._server = werkzeug.serving.make_server(self.host, self.port, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), daemon=True, name="oidc-mock"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def set_identity(self, identity: ProviderIdentity) -> None:
        """Create or replace a person at the provider (`PUT /users/<sub>`)."""
        response = httpx.put(f"{self.url}/users/{identity.sub}", json=identity.claims(), timeout=10)
        response.raise_for_status()

    def __enter__(self) -> MockProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- our own provider, in FranceConnect v2's shape, able to misbehave -------------

API_PREFIX = "/api/v2"  # FranceConnect v2's paths (issuer https://<host>/api/v2)

# FranceConnect's scopes and the claims each gives (partner documentation,
# "scopes et claims"): no `profile`, no `birth`; `identite_pivot` gives the six
# claims of the pivot identity.
FRANCECONNECT_SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "given_name": ("given_name",),
    "family_name": ("family_name",),
    "birthdate": ("birthdate",),
    "gender": ("gender",),
    "birthplace": ("birthplace",),
    "birthcountry": ("birthcountry",),
    "email": ("email",),
    "preferred_username": ("preferred_username",),
    "identite_pivot": (
        "given_name",
        "family_name",
        "birthdate",
        "gender",
        "birthplace",
        "birthcountry",
    ),
}
PROVIDER_SESSION_COOKIE = "fc_session"  # the provider's own session (single sign-on)


@dataclass
class Misbehaviour:
    """What the next token answer does wrong (tests only)."""

    claims: dict[str, Any] = field(
        default_factory=dict
    )  # ID-token claims replaced (nonce, acr, iss, aud...)
    tamper: bool = False  # the payload is changed after signing (another sub), signature kept
    foreign_key: bool = False  # signed with a key that is not in the provider's JWKS
    # The userinfo answer of that exchange: claims replaced (sub, iss, aud...),
    # or signed with a key that is not in the JWKS.
    userinfo_claims: dict[str, Any] = field(default_factory=dict)
    userinfo_foreign_key: bool = False


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    sub: str
    nonce: str
    scopes: tuple[str, ...]
    sid: str
    issued_at: float


@dataclass
class _AccessToken:
    sub: str
    scopes: tuple[str, ...]
    expires_at: float
    misbehaviour: Misbehaviour


class LoopbackOidcProvider:
    """A small OpenID Connect provider (authorization-code flow) on loopback,
    run by uvicorn in a thread, that speaks like FranceConnect v2:

    - discovery at `/api/v2/.well-known/openid-configuration`, advertising
      FranceConnect's scopes only (`scopes_supported`); an authorization
      request for any other scope (e.g. `profile`) goes back with
      `error=invalid_scope`, as FranceConnect answers;
    - ID tokens (ES256) carry no identity claims: `sub`, `acr`, `amr`, `sid`,
      `nonce`... The identity is in the userinfo answer only, as a signed JWT
      (`application/jwt`, with `iss` and `aud`) holding just the claims of the
      granted scopes (`signed_userinfo=False`: plain JSON);
    - a real session: the sign-in page sets the provider's cookie, and while
      it lives the next authorization goes straight back (single sign-on);
      `end_session_endpoint` (`id_token_hint`, `state`,
      `post_logout_redirect_uri`) ends it and sends the browser back with the
      state; the next authorization asks to sign in again;
    - "Revenir sur le service" on the sign-in page answers
      `error=access_denied` (the person cancelled), with the state.

    One registered client; `post_logout_redirect_uris` (None: any) lists the
    addresses end_session accepts."""

    def __init__(
        self,
        identities: Iterable[ProviderIdentity] = (),
        *,
        client_id: str = "educonnect-dev",
        client_secret: str = "dev-franceconnect-secret",
        host: str = "127.0.0.1",
        port: int = 0,
        signed_userinfo: bool = True,
        post_logout_redirect_uris: list[str] | None = None,
    ) -> None:
        self.identities = {i.sub: i for i in identities}
        self.client_id, self.client_secret = client_id, client_secret
        self.host, self.port = host, port
        self.signed_userinfo = signed_userinfo
        self.post_logout_redirect_uris = post_logout_redirect_uris
        kid = secrets.token_hex(4)
        self.key = ECKey.generate_key(
            "P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"}
        )
        self._foreign_key = ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256"})
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        self._sessions: dict[str, tuple[str, str]] = {}  # cookie token -> (sub, sid)
        self._misbehaviours: list[Misbehaviour] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.unreachable = False  # tests: every endpoint answers 503 while set

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url + API_PREFIX

    @property
    def discovery_url(self) -> str:
        return self.issuer + DISCOVERY_PATH

    def add_identity(self, identity: ProviderIdentity) -> None:
        self.identities[identity.sub] = identity

    set_identity = add_identity  # the name the end-to-end tests use

    def misbehave_once(self, **what: Any) -> None:
        """The next token answer does this wrong (see `Misbehaviour`)."""
        with self._lock:
            self._misbehaviours.append(Misbehaviour(**what))

    def live_sessions(self, sub: str) -> int:
        """How many provider sessions `sub` has (tests)."""
        with self._lock:
            return sum(1 for s, _ in self._sessions.values() if s == sub)

    # --- lifecycle ----------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> LoopbackOidcProvider:
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app(), log_level="warning", access_log=False, log_config=None, lifespan="off"
        )

        class _Server(uvicorn.Server):
            def capture_signals(self):
                return contextlib.nullcontext()

        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="oidc-loopback"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback OpenID Connect provider did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None

    def __enter__(self) -> LoopbackOidcProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the protocol -------------------------------------------------------------

    def _app(self) -> FastAPI:
        app = FastAPI(title="FranceConnect de développement", openapi_url=None, docs_url=None)
        prefix = API_PREFIX

        @app.middleware("http")
        async def outage(request: Request, call_next):
            if self.unreachable:
                return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
            return await call_next(request)

        @app.get(prefix + DISCOVERY_PATH)
        def discovery() -> dict:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "end_session_endpoint": f"{self.issuer}/session/end",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256", "RS256"],
                "userinfo_signing_alg_values_supported": ["ES256", "RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "scopes_supported": list(FRANCECONNECT_SCOPE_CLAIMS),
                "claims_supported": sorted(
                    {c for claims in FRANCECONNECT_SCOPE_CLAIMS.values() for c in claims}
                    | {"acr", "amr", "sid", "auth_time", "iss"}
                ),
                "acr_values_supported": ["eidas1"],
                "prompt_values_supported": ["login", "consent"],
            }

        @app.get(prefix + "/jwks")
        def jwks() -> dict:
            return dict(KeySet([self.key]).as_dict(private=False))

        def _check_request(params) -> tuple[str | None, str]:
            """(redirect_uri, "") for a request to answer, (None, why) otherwise."""
            if params.get("client_id") != self.client_id:
                return None, "client inconnu"
            if not params.get("redirect_uri"):
                return None, "adresse de retour absente"
            if params.get("response_type") != "code":
                return None, "requête invalide"
            return params["redirect_uri"], ""

        def _error_back(params, redirect_uri: str, error: str, description: str):
            query = {"error": error, "error_description": description}
            if "state" in params:
                query["state"] = params["state"]
            sep = "&" if "?" in redirect_uri else "?"
            return RedirectResponse(f"{redirect_uri}{sep}{urlencode(query)}", status_code=303)

        def _protocol_error(params, redirect_uri: str):
            scopes = params.get("scope", "").split()
            if "openid" not in scopes:
                return _error_back(params, redirect_uri, "invalid_scope", "openid is required")
            unknown = [s for s in scopes if s not in FRANCECONNECT_SCOPE_CLAIMS]
            if unknown:
                return _error_back(
                    params, redirect_uri, "invalid_scope", f"unknown scope {unknown[0]}"
                )
            for name in ("state", "nonce"):
                if len(params.get(name, "")) < 22:  # FranceConnect: at least 22 characters
                    return _error_back(params, redirect_uri, "invalid_request", f"{name} too short")
            return None

        def _code_back(params, redirect_uri: str, sub: str, sid: str) -> RedirectResponse:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._grants[code] = _Grant(
                    self.client_id,
                    redirect_uri,
                    sub,
                    params.get("nonce", ""),
                    tuple(params.get("scope", "").split()),
                    sid,
                    time.time(),
                )
            query = {"code": code, "iss": self.issuer}
            if "state" in params:
                query["state"] = params["state"]
            sep = "&" if "?" in redirect_uri else "?"
            return RedirectResponse(f"{redirect_uri}{sep}{urlencode(query)}", status_code=302)

        def _session(request: Request) -> tuple[str, str] | None:
            token = request.cookies.get(PROVIDER_SESSION_COOKIE)
            with self._lock:
                return self._sessions.get(token) if token else None

        @app.get(prefix + "/authorize", response_class=HTMLResponse)
        def authorize_page(request: Request):
            params = request.query_params
            redirect_uri, problem = _check_request(params)
            if redirect_uri is None:
                return HTMLResponse(f"<p>Demande refusée : {escape(problem)}</p>", status_code=400)
            if (refused := _protocol_error(params, redirect_uri)) is not None:
                return refused
            session = _session(request)
            if session is not None and params.get("prompt") != "login":
                sub, sid = session  # single sign-on: the person is signed in here already
                if sub in self.identities:
                    return _code_back(params, redirect_uri, sub, sid)
            buttons = "".join(
                f'<button type="submit" name="sub" value="{escape(i.sub)}">'
                f"{escape(i.given_name)} {escape(i.family_name)} ({escape(i.sub)})</button><br>"
                for i in self.identities.values()
            )
            return HTMLResponse(
                "<!doctype html><html lang='fr'><meta charset='utf-8'>"
                "<title>FranceConnect (développement)</title>"
                "<h1>Je choisis un compte pour me connecter</h1>"
                # One form per way of choosing: a browser sends every named field of
                # the form, so the typed `sub` must not share one with the buttons.
                f"<form method='post'>{buttons}</form>"
                "<form method='post'><label>Autre identifiant (sub) <input name='sub'></label>"
                "<button type='submit'>Continuer</button></form>"
                "<form method='post'><button type='submit' name='cancel' value='1'>"
                "Revenir sur le service</button></form></html>"
            )

        @app.post(prefix + "/authorize")
        def authorize(request: Request, sub: str = Form(""), cancel: str = Form("")):
            params = request.query_params
            redirect_uri, problem = _check_request(params)
            if redirect_uri is None:
                return HTMLResponse(f"<p>Demande refusée : {escape(problem)}</p>", 400)
            if (refused := _protocol_error(params, redirect_uri)) is not None:
                return refused
            if cancel:
                return _error_back(params, redirect_uri, "access_denied", "User auth aborted")
            if sub not in self.identities:
                return HTMLResponse("<p>Demande refusée : personne inconnue</p>", 400)
            token, sid = secrets.token_urlsafe(24), secrets.token_hex(16)
            with self._lock:
                self._sessions[token] = (sub, sid)
            response = _code_back(params, redirect_uri, sub, sid)
            response.set_cookie(PROVIDER_SESSION_COOKIE, token, httponly=True, samesite="lax")
            return response

        @app.post(prefix + "/token")
        async def token(request: Request, authorization: str | None = Header(default=None)):
            form = await request.form()
            client_id, client_secret = form.get("client_id"), form.get("client_secret")
            if authorization and authorization.lower().startswith("basic "):
                client_id, _, client_secret = (
                    base64.b64decode(authorization[6:]).decode().partition(":")
                )
            if client_id != self.client_id or not secrets.compare_digest(
                str(client_secret or ""), self.client_secret
            ):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            with self._lock:
                grant = self._grants.pop(str(form.get("code")), None)
                misbehaviour = self._misbehaviours.pop(0) if self._misbehaviours else Misbehaviour()
            if (
                form.get("grant_type") != "authorization_code"
                or grant is None
                or grant.redirect_uri != form.get("redirect_uri")
                or time.time() - grant.issued_at > 30  # FranceConnect: 30 s
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            identity = self.identities[grant.sub]
            access_token = secrets.token_urlsafe(32)
            with self._lock:
                self._access_tokens[access_token] = _AccessToken(
                    grant.sub, grant.scopes, time.time() + 60, misbehaviour
                )
            return {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 60,
                "id_token": self._id_token(grant, identity, misbehaviour),
            }

        @app.get(prefix + "/userinfo")
        def userinfo(authorization: str | None = Header(default=None)):
            bearer = (authorization or "").removeprefix("Bearer ").strip()
            with self._lock:
                granted = self._access_tokens.get(bearer)
            if granted is None or granted.expires_at < time.time():
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            identity = self.identities[granted.sub]
            available = identity.claims()
            wanted = {c for s in granted.scopes for c in FRANCECONNECT_SCOPE_CLAIMS.get(s, ())}
            claims: dict[str, Any] = {"sub": granted.sub}
            claims |= {k: v for k, v in available.items() if k in wanted and k != "sub"}
            wrong = granted.misbehaviour
            if not self.signed_userinfo:
                return claims | wrong.userinfo_claims
            now = int(time.time())
            claims |= {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 60}
            signed = jwt.encode(
                {"alg": "ES256", "kid": self.key.kid},
                claims | wrong.userinfo_claims,
                self._foreign_key if wrong.userinfo_foreign_key else self.key,
            )
            return Response(signed, media_type="application/jwt")

        @app.get(prefix + "/session/end")
        def end_session(
            request: Request,
            id_token_hint: str = "",
            state: str = "",
            post_logout_redirect_uri: str = "",
        ):
            def refused(why: str) -> HTMLResponse:
                return HTMLResponse(f"<p>Déconnexion refusée : {escape(why)}</p>", status_code=400)

            if not id_token_hint or not state or not post_logout_redirect_uri:
                return refused("id_token_hint, state et post_logout_redirect_uri sont requis")
            if (
                self.post_logout_redirect_uris is not None
                and post_logout_redirect_uri not in self.post_logout_redirect_uris
            ):
                return refused("adresse de retour non enregistrée")
            try:
                hint = jwt.decode(id_token_hint, KeySet([self.key]), algorithms=["ES256"]).claims
            except Exception:  # noqa: BLE001 (any unreadable hint is refused)
                return refused("id_token_hint invalide")
            if hint.get("iss") != self.issuer or hint.get("aud") != self.client_id:
                return refused("id_token_hint d'un autre service")
            cookie = request.cookies.get(PROVIDER_SESSION_COOKIE)
            with self._lock:
                for token in [
                    t
                    for t, (sub, sid) in self._sessions.items()
                    if t == cookie or (sub == hint.get("sub") and sid == hint.get("sid"))
                ]:
                    del self._sessions[token]
            sep = "&" if "?" in post_logout_redirect_uri else "?"
            response = RedirectResponse(
                f"{post_logout_redirect_uri}{sep}{urlencode({'state': state})}", status_code=303
            )
            response.delete_cookie(PROVIDER_SESSION_COOKIE)
            return response

        return app

    def _id_token(
        self, grant: _Grant, identity: ProviderIdentity, misbehaviour: Misbehaviour
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": identity.sub,
            "aud": grant.client_id,
            "exp": now + 60,
            "iat": now,
            "auth_time": now,
            "nonce": grant.nonce,
            "acr": identity.acr,
            "amr": ["pwd"],
            "sid": grant.sid,
            **misbehaviour.claims,
        }
        key = self._foreign_key if misbehaviour.foreign_key else self.key
        token = jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, key)
        if misbehaviour.tamper:
            header, _, signature = token.split(".")
            forged = dict(claims, sub=identity.sub + "-usurpe")
            payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
            token = f"{header}.{payload}.{signature}"
        return token


# --- demo identities --------------------------------------------------------------


async def demo_identities(pool, count: int = 3) -> list[ProviderIdentity]:
    """FranceConnect identities of the first `count` demo guardians who have a
    mobile on file and children (stable order); `label` says how to use them."""
    from educonnect.identifiers import normalize_name

    rows = await pool.fetch(
        """
        SELECT g.id, g.first_name, g.last_name, g.mobile, min(p.birthdate) AS child_birthdate
        FROM guardians g JOIN guardian_pupils gp ON gp.guardian_id = g.id JOIN pupils p ON p.id = gp.pupil_id
        WHERE g.mobile IS NOT NULL
        GROUP BY g.id ORDER BY g.last_name, g.first_name, g.id LIMIT $1
        """,
        count,
    )
    return [
        ProviderIdentity(
            sub=f"fc-{normalize_name(r['first_name'])}.{normalize_name(r['last_name'])}",
            given_name=r["first_name"],
            family_name=r["last_name"],
            birthdate=date(1980, 1, 1),
            label=f"mobile {r['mobile']}, date de naissance d'un enfant {r['child_birthdate']:%d/%m/%Y}",
        )
        for r in rows
    ]
