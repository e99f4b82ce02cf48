"""OpenID Connect providers on loopback, the far side of the network boundary
the FranceConnect relying party (`educonnect.franceconnect`) talks to.

Two of them, both speaking the real protocol over HTTP (discovery, JWKS,
authorization endpoint with a form, token endpoint, userinfo):

- `MockProvider` runs PyPI's `oidc-provider-mock` (Flask, authlib) in a
  thread: the development stack's provider and the one the end-to-end tests
  use. Its authorization page lists the demo identities as buttons; any other
  `sub` can be typed (or posted: `POST <authorize URL> sub=<sub>`), and
  `set_identity` gives a `sub` its claims (`PUT /users/<sub>`). It puts the
  claims in the ID token itself.
- `LoopbackOidcProvider`, our own small provider with joserfc-signed tokens,
  shaped like FranceConnect (identity in the userinfo answer, `acr` in the ID
  token) and able to misbehave on request (`misbehave_once`): a tampered
  token, a foreign key, a wrong nonce, acr, issuer or audience. The tests use
  it to prove that each of these is refused.

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
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

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

    def claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "given_name": self.given_name,
            "family_name": self.family_name,
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


# --- our own provider, able to misbehave ----------------------------------------


@dataclass
class Misbehaviour:
    """What the next token answer does wrong (tests only)."""

    claims: dict[str, Any] = field(
        default_factory=dict
    )  # ID-token claims replaced (nonce, acr, iss, aud...)
    tamper: bool = False  # the payload is changed after signing (another sub), signature kept
    foreign_key: bool = False  # signed with a key that is not in the provider's JWKS


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    sub: str
    nonce: str
    acr_values: str
    issued_at: float


class LoopbackOidcProvider:
    """A small OpenID Connect provider (authorization-code flow) on loopback,
    run by uvicorn in a thread. One registered client."""

    def __init__(
        self,
        identities: Iterable[ProviderIdentity] = (),
        *,
        client_id: str = "educonnect-dev",
        client_secret: str = "dev-franceconnect-secret",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.identities = {i.sub: i for i in identities}
        self.client_id, self.client_secret = client_id, client_secret
        self.host, self.port = host, port
        self.key = RSAKey.generate_key(
            2048, parameters={"kid": secrets.token_hex(4), "use": "sig", "alg": "RS256"}
        )
        self._foreign_key = RSAKey.generate_key(
            2048,
            parameters={"kid": self.key.kid, "alg": "RS256"},  # type: ignore[arg-type]  # kid is set
        )
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, str] = {}
        self._misbehaviours: list[Misbehaviour] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def discovery_url(self) -> str:
        return self.url + DISCOVERY_PATH

    def add_identity(self, identity: ProviderIdentity) -> None:
        self.identities[identity.sub] = identity

    def misbehave_once(self, **what: Any) -> None:
        """The next token answer does this wrong (see `Misbehaviour`)."""
        with self._lock:
            self._misbehaviours.append(Misbehaviour(**what))

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
        app = FastAPI(
            title="Fournisseur d'identité de développement", openapi_url=None, docs_url=None
        )

        @app.get(DISCOVERY_PATH)
        def discovery() -> dict:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "userinfo_endpoint": f"{self.url}/userinfo",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "scopes_supported": ["openid", "profile", "given_name", "family_name", "birthdate"],
                "acr_values_supported": ["eidas1", "eidas2", "eidas3"],
            }

        @app.get("/jwks")
        def jwks() -> dict:
            return dict(KeySet([self.key]).as_dict(private=False))

        def _check_request(params) -> tuple[str | None, str]:
            if params.get("client_id") != self.client_id:
                return None, "client inconnu"
            if (
                params.get("response_type") != "code"
                or "openid" not in params.get("scope", "").split()
            ):
                return None, "requête invalide"
            if not params.get("redirect_uri"):
                return None, "adresse de retour absente"
            return params["redirect_uri"], ""

        @app.get("/authorize", response_class=HTMLResponse)
        def authorize_page(request: Request):
            redirect_uri, problem = _check_request(request.query_params)
            if redirect_uri is None:
                return HTMLResponse(f"<p>Demande refusée : {escape(problem)}</p>", status_code=400)
            buttons = "".join(
                f'<button type="submit" name="sub" value="{escape(i.sub)}">'
                f"{escape(i.given_name)} {escape(i.family_name)} ({escape(i.sub)})</button><br>"
                for i in self.identities.values()
            )
            return HTMLResponse(
                "<!doctype html><html lang='fr'><meta charset='utf-8'><title>Fournisseur d'identité</title>"
                f"<h1>Qui êtes-vous ?</h1><form method='post'>{buttons}</form></html>"
            )

        @app.post("/authorize")
        def authorize(request: Request, sub: str = Form(...)):
            params = request.query_params
            redirect_uri, problem = _check_request(params)
            if redirect_uri is None or sub not in self.identities:
                return HTMLResponse(
                    f"<p>Demande refusée : {escape(problem or 'personne inconnue')}</p>", 400
                )
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._grants[code] = _Grant(
                    self.client_id,
                    redirect_uri,
                    sub,
                    params.get("nonce", ""),
                    params.get("acr_values", ""),
                    time.time(),
                )
            query = {"code": code, "iss": self.issuer}
            if "state" in params:
                query["state"] = params["state"]
            sep = "&" if "?" in redirect_uri else "?"
            return RedirectResponse(f"{redirect_uri}{sep}{urlencode(query)}", status_code=302)

        @app.post("/token")
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
                or time.time() - grant.issued_at > 60
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            identity = self.identities[grant.sub]
            access_token = secrets.token_urlsafe(32)
            with self._lock:
                self._access_tokens[access_token] = grant.sub
            return {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 60,
                "id_token": self._id_token(grant, identity, misbehaviour),
            }

        @app.get("/userinfo")
        def userinfo(authorization: str | None = Header(default=None)):
            token = (authorization or "").removeprefix("Bearer ").strip()
            sub = self._access_tokens.get(token)
            if sub is None:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            identity = self.identities[sub]
            claims = identity.claims()
            claims.pop("acr")
            return {"sub": sub, **claims}

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
            **misbehaviour.claims,
        }
        key = self._foreign_key if misbehaviour.foreign_key else self.key
        token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)
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
