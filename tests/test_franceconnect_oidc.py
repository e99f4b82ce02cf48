"""The FranceConnect relying party against real OpenID Connect providers on
loopback: our own provider in FranceConnect v2's shape (its scope names only,
the identity in a signed userinfo JWT, a session that end_session ends), which
can misbehave, and PyPI's oidc-provider-mock (a third-party implementation of
a generic provider, `profile` scope and claims in the ID token) for
interoperability. Every broken answer is refused with a stable code and a
French message leading back to "S'identifier avec FranceConnect", and leaves
no identity and no session behind."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from educonnect.devtools.oidc_provider import LoopbackOidcProvider, MockProvider, ProviderIdentity
from educonnect.errors import HTTP_STATUS, MESSAGES, ErrorCode
from educonnect.tokens import token_hash
from tests.support.families import make_family
from tests.support.franceconnect import (  # noqa: F401 (fixtures)
    api,
    back_to_us,
    edit_query,
    fc_api,
    fc_login,
    fc_temporal,
    new_sub,
    provider_answer,
    to_provider,
    using_provider,
)
from tests.support.settings_env import settings_env

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def mock_provider():
    with MockProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def loopback_provider():
    with LoopbackOidcProvider() as provider:
        yield provider


@pytest.fixture
def via_mock(mock_provider):
    """A generic provider: the scopes it offers must be set by hand."""
    with (
        using_provider(mock_provider.discovery_url),
        settings_env(FRANCECONNECT_SCOPES="openid profile"),
    ):
        yield mock_provider


@pytest.fixture
def via_loopback(loopback_provider):
    with using_provider(loopback_provider.discovery_url):
        yield loopback_provider


def person(**extra) -> ProviderIdentity:
    return ProviderIdentity(
        sub=new_sub(), given_name="Jeanne Louise", family_name="DURAND", **extra
    )


async def identities(db_pool, sub: str) -> int:
    return await db_pool.fetchval(
        "SELECT count(*) FROM franceconnect_identities WHERE sub = $1", sub
    )


def assert_refused(
    response, code: ErrorCode, reason: str = "", caplog: pytest.LogCaptureFixture | None = None
) -> None:
    """Refused with `code` and its French message only: the internal reason
    (issue 19: no provider text or exception detail for the browser) is in
    the log, where `caplog` finds it."""
    assert response.status_code == HTTP_STATUS[code], response.text
    body = response.json()
    assert body["code"] == code.value, body
    assert body["details"] == [{"next": "/franceconnect/login"}], body  # back to sign-in
    assert body["message"] == MESSAGES[code]
    assert "FranceConnect" in body["message"]  # French, and says what to do
    assert "educonnect_session" not in response.cookies
    if caplog is not None:
        logged = [r.getMessage() for r in caplog.records if r.name == "educonnect.franceconnect"]
        assert any(m.startswith(f"FranceConnect refusal {code.value}: {reason}") for m in logged), (
            logged
        )


async def test_authorization_request(api, db_pool, via_loopback):
    location = await to_provider(api)
    parts = urlsplit(location)
    assert location.startswith(via_loopback.issuer + "/authorize?")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "educonnect-dev"
    assert query["redirect_uri"].endswith("/franceconnect/callback")
    assert query["acr_values"] == "eidas1"
    # FranceConnect's own scope names, only what the first visit matches on.
    assert query["scope"] == "openid given_name family_name"
    assert len(query["nonce"]) >= 22 and len(query["state"]) >= 22
    assert query["nonce"] != query["state"]
    cookie = api.cookies.get("educonnect_fc_login")
    assert cookie
    # Only keyed hashes are kept server-side.
    row = await db_pool.fetchrow(
        "SELECT * FROM franceconnect_logins WHERE used_at IS NULL ORDER BY created_at DESC LIMIT 1"
    )
    stored = b"".join(bytes(row[c]) for c in ("binding_hash", "state_hash", "nonce_hash"))
    for secret in (query["state"], query["nonce"], cookie):
        assert secret.encode() not in stored


async def test_first_visit_through_oidc_provider_mock(api, db_pool, via_mock):
    """A third-party generic provider (FRANCECONNECT_SCOPES="openid profile"):
    the claims come in its ID token."""
    jeanne = person(birthdate=None)
    via_mock.set_identity(jeanne)
    answer = await fc_login(api, jeanne.sub)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "link_required"
    assert body["link"]["step"] == "awaiting_mobile"
    assert "numéro de téléphone mobile" in body["message"]
    row = await db_pool.fetchrow(
        "SELECT * FROM franceconnect_identities WHERE sub = $1", jeanne.sub
    )
    assert (row["issuer"], row["given_name"], row["family_name"], row["acr"]) == (
        via_mock.url,
        "Jeanne Louise",
        "DURAND",
        "eidas1",
    )
    assert row["account_id"] is None
    assert api.cookies.get("educonnect_fc_link")


async def test_first_visit_through_loopback_provider(api, db_pool, via_loopback):
    """FranceConnect's shape: the ID token carries no identity; the names come
    from the userinfo answer, a JWT signed with the provider's keys
    (`application/jwt`), holding only the claims of the scopes asked for."""
    jeanne = person(birthdate=date(1980, 5, 17))
    via_loopback.add_identity(jeanne)
    answer = await fc_login(api, jeanne.sub)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "link_required"
    row = await db_pool.fetchrow(
        "SELECT * FROM franceconnect_identities WHERE sub = $1", jeanne.sub
    )
    assert row["issuer"] == via_loopback.issuer
    assert (row["given_name"], row["family_name"]) == ("Jeanne Louise", "DURAND")
    assert row["birthdate"] is None, "not asked for (data minimisation), not kept"


async def test_provider_answers_in_franceconnect_shape(via_loopback):
    """What the relying party meets at FranceConnect: its scopes only (no
    `profile`), an ID token without identity claims, the identity in a signed
    userinfo JWT limited to the scopes granted."""
    jeanne = person(birthdate=date(1980, 5, 17))
    via_loopback.add_identity(jeanne)
    async with httpx.AsyncClient(timeout=10) as http:
        discovery = (await http.get(via_loopback.discovery_url)).json()
        assert set(discovery["scopes_supported"]) == {
            "openid", "given_name", "family_name", "birthdate", "gender", "birthplace",
            "birthcountry", "email", "preferred_username", "identite_pivot",
        }  # fmt: skip
        assert "profile" not in discovery["scopes_supported"]
        assert discovery["end_session_endpoint"].endswith("/api/v2/session/end")
        authorize = (
            discovery["authorization_endpoint"]
            + "?"
            + urlencode(
                {
                    "response_type": "code",
                    "client_id": "educonnect-dev",
                    "redirect_uri": "http://127.0.0.1:1/cb",
                    "scope": "openid given_name birthdate",
                    "state": "s" * 32,
                    "nonce": "n" * 32,
                    "acr_values": "eidas1",
                }
            )
        )
        code = parse_qs(urlsplit(await provider_answer(authorize, {"sub": jeanne.sub})).query)
        tokens = (
            await http.post(
                discovery["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code["code"][0],
                    "redirect_uri": "http://127.0.0.1:1/cb",
                    "client_id": "educonnect-dev",
                    "client_secret": "dev-franceconnect-secret",
                },
            )
        ).json()
        keys = KeySet.import_key_set((await http.get(discovery["jwks_uri"])).json())
        id_claims = jwt.decode(tokens["id_token"], keys).claims
        assert not {"given_name", "family_name", "birthdate"} & set(id_claims)
        assert id_claims["acr"] == "eidas1" and id_claims["sid"]
        userinfo = await http.get(
            discovery["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert userinfo.headers["content-type"].startswith("application/jwt")
        claims = jwt.decode(userinfo.text, keys).claims
        assert claims["iss"] == via_loopback.issuer and claims["aud"] == "educonnect-dev"
        assert (claims["sub"], claims["given_name"], claims["birthdate"]) == (
            jeanne.sub,
            "Jeanne Louise",
            "1980-05-17",
        )
        assert "family_name" not in claims and "gender" not in claims  # scopes not granted


async def test_userinfo_as_plain_json_is_read_too(api, db_pool):
    """A provider that answers userinfo in JSON (FranceConnect v1, generic ones)."""
    with LoopbackOidcProvider(signed_userinfo=False) as plain, using_provider(plain.discovery_url):
        jeanne = person()
        plain.add_identity(jeanne)
        answer = await fc_login(api, jeanne.sub)
    assert answer.status_code == 200, answer.text
    assert await identities(db_pool, jeanne.sub) == 1


@pytest.mark.parametrize(
    "wrong, reason",
    [
        ({"userinfo_foreign_key": True}, "signature"),
        ({"userinfo_claims": {"aud": "un-autre-service"}}, "userinfo issuer or audience"),
        ({"userinfo_claims": {"sub": "quelqu-un-d-autre"}}, "userinfo for another subject"),
    ],
    ids=["foreign-key", "audience", "another-subject"],
)
async def test_broken_signed_userinfo_is_refused(api, db_pool, via_loopback, wrong, reason, caplog):
    jeanne = person()
    via_loopback.add_identity(jeanne)
    via_loopback.misbehave_once(**wrong)
    assert_refused(
        await fc_login(api, jeanne.sub), ErrorCode.FRANCECONNECT_TOKEN_INVALID, reason, caplog
    )
    assert await identities(db_pool, jeanne.sub) == 0


async def test_asking_for_profile_again_is_refused_at_start_up(via_loopback, monkeypatch):
    """FranceConnect has no `profile` scope: the API does not start, and says
    which scope; a login with it is refused, and the provider itself answers
    invalid_scope."""
    from api.__main__ import main
    from educonnect.franceconnect import ProviderScopesError, check_provider_scopes

    await check_provider_scopes()  # the defaults are FranceConnect's names
    with settings_env(FRANCECONNECT_SCOPES="openid profile"):
        with pytest.raises(ProviderScopesError, match="'profile'"):
            await check_provider_scopes()
        monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("the API started"))
        with pytest.raises(SystemExit, match="does not support the scope 'profile'"):
            await asyncio.to_thread(main, [])


async def test_login_with_an_unsupported_scope_is_refused(api, via_loopback, caplog):
    with settings_env(FRANCECONNECT_SCOPES="openid profile"):
        answer = await api.get("/franceconnect/login")
    assert_refused(answer, ErrorCode.FRANCECONNECT_UNAVAILABLE, "the provider", caplog)
    authorize = f"{via_loopback.issuer}/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": "educonnect-dev",
            "redirect_uri": "http://127.0.0.1:1/cb",
            "scope": "openid profile",
            "state": "s" * 32,
            "nonce": "n" * 32,
        }
    )
    async with httpx.AsyncClient(timeout=10) as http:
        refused = await http.get(authorize)
    assert refused.status_code == 303
    assert parse_qs(urlsplit(refused.headers["location"]).query)["error"] == ["invalid_scope"]


async def test_tampered_id_token_is_refused(api, db_pool, via_loopback, caplog):
    jeanne = person()
    via_loopback.add_identity(jeanne)
    via_loopback.misbehave_once(tamper=True)
    answer = await fc_login(api, jeanne.sub)
    assert_refused(
        answer, ErrorCode.FRANCECONNECT_TOKEN_INVALID, "signature: BadSignatureError", caplog
    )
    assert await identities(db_pool, jeanne.sub) == 0
    assert await identities(db_pool, jeanne.sub + "-usurpe") == 0


async def test_id_token_signed_with_a_foreign_key_is_refused(api, db_pool, via_loopback, caplog):
    jeanne = person()
    via_loopback.add_identity(jeanne)
    via_loopback.misbehave_once(foreign_key=True)
    assert_refused(
        await fc_login(api, jeanne.sub), ErrorCode.FRANCECONNECT_TOKEN_INVALID, "signature", caplog
    )
    assert await identities(db_pool, jeanne.sub) == 0


async def test_wrong_nonce_is_refused(api, db_pool, via_loopback):
    jeanne = person()
    via_loopback.add_identity(jeanne)
    via_loopback.misbehave_once(claims={"nonce": "n" * 43})
    assert_refused(await fc_login(api, jeanne.sub), ErrorCode.FRANCECONNECT_NONCE_MISMATCH)
    assert await identities(db_pool, jeanne.sub) == 0


async def test_injected_authorization_with_another_nonce_is_refused(api, db_pool, via_loopback):
    """The provider is honest but the authorization it answers was made with
    someone else's nonce (an injected code): its ID token carries that nonce."""
    jeanne = person()
    via_loopback.add_identity(jeanne)
    answer = await fc_login(
        api,
        jeanne.sub,
        edit_authorize_url=lambda url: edit_query(url, nonce="attacker-nonce-0123456789abcdef"),
    )
    assert_refused(answer, ErrorCode.FRANCECONNECT_NONCE_MISMATCH)
    assert await identities(db_pool, jeanne.sub) == 0


@pytest.mark.parametrize("acr", ["eidas0", None, "EIDAS1 "])
async def test_wrong_acr_is_refused(api, db_pool, via_loopback, acr):
    jeanne = person()
    via_loopback.add_identity(jeanne)
    via_loopback.misbehave_once(claims={"acr": acr})
    assert_refused(await fc_login(api, jeanne.sub), ErrorCode.FRANCECONNECT_ACR_INSUFFICIENT)
    assert await identities(db_pool, jeanne.sub) == 0


async def test_identity_without_acr_at_oidc_provider_mock_is_refused(api, db_pool, via_mock):
    jeanne = person()
    claims = jeanne.claims()
    del claims["acr"]
    async with httpx.AsyncClient() as http:
        (await http.put(f"{via_mock.url}/users/{jeanne.sub}", json=claims)).raise_for_status()
    assert_refused(await fc_login(api, jeanne.sub), ErrorCode.FRANCECONNECT_ACR_INSUFFICIENT)


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"iss": "http://127.0.0.1:1/autre-fournisseur"}, "issuer"),
        ({"aud": "un-autre-service"}, "audience"),
        (
            {"aud": ["educonnect-dev", "un-autre-service"]},
            "authorized party",
        ),  # several audiences, no azp
        ({"exp": 1_000_000_000}, "expired"),
        ({"iat": 4_000_000_000}, "issued in the future"),
    ],
    ids=["issuer", "audience", "audiences-without-azp", "expired", "issued-in-the-future"],
)
async def test_wrong_claims_are_refused(api, db_pool, via_loopback, claims, reason, caplog):
    jeanne = person()
    via_loopback.add_identity(jeanne)
    via_loopback.misbehave_once(claims=claims)
    assert_refused(
        await fc_login(api, jeanne.sub), ErrorCode.FRANCECONNECT_TOKEN_INVALID, reason, caplog
    )
    assert await identities(db_pool, jeanne.sub) == 0


async def test_state_mismatch_is_refused(api, db_pool, via_loopback, caplog):
    jeanne = person()
    via_loopback.add_identity(jeanne)
    authorize_url = await to_provider(api)
    callback_url = await provider_answer(authorize_url, {"sub": jeanne.sub})
    forged = edit_query(callback_url, state="etat-fabrique-par-un-attaquant-0123456789")
    assert_refused(
        await back_to_us(api, forged),
        ErrorCode.FRANCECONNECT_STATE_INVALID,
        "state mismatch",
        caplog,
    )
    # The pending request is used up: the genuine answer does not work after that.
    assert_refused(await back_to_us(api, callback_url), ErrorCode.FRANCECONNECT_STATE_INVALID)
    assert await identities(db_pool, jeanne.sub) == 0


async def test_answer_in_another_browser_is_refused(api, db_pool, via_loopback):
    """Login CSRF: an answer to a request this browser never made."""
    jeanne = person()
    via_loopback.add_identity(jeanne)
    authorize_url = await to_provider(api)
    callback_url = await provider_answer(authorize_url, {"sub": jeanne.sub})
    api.cookies.clear()
    assert_refused(await back_to_us(api, callback_url), ErrorCode.FRANCECONNECT_STATE_INVALID)
    assert await identities(db_pool, jeanne.sub) == 0


async def test_replayed_answer_is_refused(api, db_pool, via_loopback):
    jeanne = person()
    via_loopback.add_identity(jeanne)
    authorize_url = await to_provider(api)
    callback_url = await provider_answer(authorize_url, {"sub": jeanne.sub})
    assert (await back_to_us(api, callback_url)).status_code == 200
    assert_refused(await back_to_us(api, callback_url), ErrorCode.FRANCECONNECT_STATE_INVALID)


async def test_cancelled_at_franceconnect(api, db_pool, via_loopback, caplog):
    """The person goes back at FranceConnect ("Revenir sur le service"): the
    provider answers error=access_denied with the state. Its error text is for
    the log; the person reads that nothing happened and how to sign in."""
    callback_url = await provider_answer(await to_provider(api), {"cancel": "1"})
    assert parse_qs(urlsplit(callback_url).query)["error"] == ["access_denied"]
    answer = await back_to_us(api, callback_url)
    assert_refused(
        answer, ErrorCode.FRANCECONNECT_CANCELLED, "provider error 'access_denied'", caplog
    )
    assert "access_denied" not in answer.text and "annulée" in answer.json()["message"]


@pytest.mark.parametrize("error", ["server_error", "temporarily_unavailable"])
async def test_provider_down_at_its_end(api, via_loopback, error):
    callback_url = edit_query(
        await provider_answer(await to_provider(api), {"cancel": "1"}), error=error
    )
    assert_refused(await back_to_us(api, callback_url), ErrorCode.FRANCECONNECT_UNAVAILABLE)


async def test_unreachable_provider(api):
    with using_provider("http://127.0.0.1:9/.well-known/openid-configuration"):
        answer = await api.get("/franceconnect/login")
    assert_refused(answer, ErrorCode.FRANCECONNECT_UNAVAILABLE)


async def test_provider_unreachable_after_the_sign_in_page(api, db_pool, via_loopback, caplog):
    """FranceConnect goes down between its page and our callback (token endpoint)."""
    jeanne = person()
    via_loopback.add_identity(jeanne)
    callback_url = await provider_answer(await to_provider(api), {"sub": jeanne.sub})
    via_loopback.unreachable = True
    try:
        answer = await back_to_us(api, callback_url)
    finally:
        via_loopback.unreachable = False
    assert_refused(
        answer, ErrorCode.FRANCECONNECT_UNAVAILABLE, "token endpoint answered 503", caplog
    )
    assert await identities(db_pool, jeanne.sub) == 0


# --- sign-out ends the FranceConnect session too ------------------------------------


async def linked_identity(db_pool, provider: LoopbackOidcProvider) -> tuple[ProviderIdentity, str]:
    """A guardian whose FranceConnect identity is linked (a later visit)."""
    family = await make_family(db_pool)
    jeanne = person()
    provider.add_identity(jeanne)
    await db_pool.execute(
        "INSERT INTO franceconnect_identities (id, issuer, sub, given_name, family_name, acr, "
        "account_id, linked_at) VALUES ($1, $2, $3, $4, $5, 'eidas1', $6, now())",
        uuid.uuid4(),
        provider.issuer,
        jeanne.sub,
        jeanne.given_name,
        jeanne.family_name,
        family.account_id,
    )
    return jeanne, family.identifier


async def signed_in_through(api, at_provider: httpx.AsyncClient, sub: str | None) -> httpx.Response:
    """Our login, the provider (its own cookies: `at_provider`), our callback.
    `sub` None: the provider must let the person through without its page
    (single sign-on: its session is alive)."""
    authorize_url = await to_provider(api)
    if sub is None:
        answer = await at_provider.get(authorize_url)
    else:
        page = await at_provider.get(authorize_url)
        assert page.status_code == 200 and "<form" in page.text, "the provider asks to sign in"
        answer = await at_provider.post(authorize_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text[:300]
    return await back_to_us(api, answer.headers["location"])


async def test_sign_out_ends_the_franceconnect_session(api, db_pool, via_loopback):
    jeanne, identifier = await linked_identity(db_pool, via_loopback)
    async with httpx.AsyncClient(timeout=10) as at_provider:
        signed_in = await signed_in_through(api, at_provider, jeanne.sub)
        assert signed_in.json()["status"] == "signed_in", signed_in.text
        assert via_loopback.live_sessions(jeanne.sub) == 1
        # The ID token waits with the session, in PostgreSQL (the logout's hint).
        kept = await db_pool.fetchrow(
            "SELECT f.id_token, s.account_id FROM franceconnect_sessions f "
            "JOIN sessions s ON s.id = f.session_id WHERE s.token_hash = $1",
            token_hash(api.cookies["educonnect_session"]),
        )
        assert kept is not None and kept["id_token"].count(".") == 2
        # While the provider's session lives, it lets the person straight through.
        again = await signed_in_through(api, at_provider, None)
        assert again.json()["status"] == "signed_in"

        session_hash = token_hash(api.cookies["educonnect_session"])
        out = await api.post("/sign-out")
        assert out.status_code == 200, out.text
        assert (await api.get("/portal")).status_code == 401, "signed out of EduConnect"
        end_session = urlsplit(out.json()["next"])
        assert out.json()["next"].startswith(via_loopback.issuer + "/session/end?")
        query = {k: v[0] for k, v in parse_qs(end_session.query).items()}
        assert set(query) == {"id_token_hint", "state", "post_logout_redirect_uri"}
        assert query["post_logout_redirect_uri"].endswith("/franceconnect/logout/callback")
        assert len(query["state"]) >= 32
        assert not await db_pool.fetchval(
            "SELECT 1 FROM franceconnect_sessions f JOIN sessions s ON s.id = f.session_id "
            "WHERE s.token_hash = $1",
            session_hash,
        ), "the hint is used once, then gone"

        at_end = await at_provider.get(out.json()["next"])
        assert at_end.status_code == 303
        back = at_end.headers["location"]
        assert urlsplit(back).path == "/franceconnect/logout/callback"
        assert parse_qs(urlsplit(back).query)["state"] == [query["state"]]
        assert via_loopback.live_sessions(jeanne.sub) == 0
        done = await api.get(urlsplit(back).path + "?" + urlsplit(back).query)
        assert done.status_code == 200 and "Vous êtes déconnecté" in done.text
        assert done.headers["content-type"].startswith("text/html")

        # The provider's session really ended: the next sign-in asks again.
        await signed_in_through(api, at_provider, jeanne.sub)
        assert via_loopback.live_sessions(jeanne.sub) == 1

        # The state is checked on the way back: used once, and bound to this browser.
        replayed = await api.get(urlsplit(back).path + "?" + urlsplit(back).query)
        assert replayed.status_code == 400
        assert 'data-code="franceconnect_logout_state_invalid"' in replayed.text


async def test_logout_return_with_another_state_is_refused(api, db_pool, via_loopback):
    jeanne, _ = await linked_identity(db_pool, via_loopback)
    async with httpx.AsyncClient(timeout=10) as at_provider:
        await signed_in_through(api, at_provider, jeanne.sub)
        out = await api.post("/sign-out")
        forged = await api.get("/franceconnect/logout/callback?state=" + "x" * 43)
        assert forged.status_code == 400
        assert 'data-code="franceconnect_logout_state_invalid"' in forged.text
        assert "déconnecté d'EduConnect" in forged.text
        # Someone else's browser with the genuine state: no pending logout there.
        at_end = await at_provider.get(out.json()["next"])
        api.cookies.clear()
        back = urlsplit(at_end.headers["location"])
        assert (await api.get(f"{back.path}?{back.query}")).status_code == 400


async def test_a_browser_form_is_redirected_to_franceconnect(api, db_pool, via_loopback):
    jeanne, _ = await linked_identity(db_pool, via_loopback)
    async with httpx.AsyncClient(timeout=10) as at_provider:
        await signed_in_through(api, at_provider, jeanne.sub)
    out = await api.post("/sign-out", headers={"accept": "text/html,application/xhtml+xml"})
    assert out.status_code == 303
    assert out.headers["location"].startswith(via_loopback.issuer + "/session/end?")
    assert api.cookies.get("educonnect_fc_logout")
    assert not api.cookies.get("educonnect_session")


async def test_sign_out_when_franceconnect_is_down(api, db_pool, via_loopback):
    """Signed out of EduConnect all the same; nothing to redirect to."""
    jeanne, _ = await linked_identity(db_pool, via_loopback)
    async with httpx.AsyncClient(timeout=10) as at_provider:
        await signed_in_through(api, at_provider, jeanne.sub)
    with using_provider("http://127.0.0.1:9/api/v2/.well-known/openid-configuration"):
        out = await api.post("/sign-out")
    assert out.status_code == 200 and out.json() == {
        "message": "Vous êtes déconnecté.",
        "next": None,
    }
    assert (await api.get("/portal")).status_code == 401


class _Forms(HTMLParser):
    """The forms of a page, each as its named controls in tree order:
    (tag, name, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[tuple[str, str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self.forms.append([])
        elif tag in ("input", "button") and named.get("name") and self.forms:
            self.forms[-1].append((tag, str(named["name"]), named.get("value") or ""))


async def test_choosing_an_identity_on_the_provider_page_works_as_a_browser_sends_it(
    api, db_pool, via_loopback
):
    """A browser sends every named field of the form with the button clicked:
    clicking a person's button must not also send an empty typed identifier."""
    jeanne = person()
    via_loopback.add_identity(jeanne)
    authorize_url = await to_provider(api)
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(authorize_url)
        forms = _Forms()
        forms.feed(page.text)
        clicked = ("button", "sub", jeanne.sub)
        [chooser] = [f for f in forms.forms if clicked in f]
        # What a browser sends: the form's fields in tree order, the clicked button among them.
        sent = [
            (name, value)
            for tag, name, value in chooser
            if tag == "input" or (tag, name, value) == clicked
        ]
        answer = await browser.post(
            authorize_url,
            content=urlencode(sent),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code in (302, 303), answer.text[:300]
    response = await back_to_us(api, answer.headers["location"])
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "link_required"
