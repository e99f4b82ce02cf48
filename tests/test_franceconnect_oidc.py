"""The FranceConnect relying party against real OpenID Connect providers on
loopback: PyPI's oidc-provider-mock (a third-party implementation) and our own
provider that can misbehave. Every broken answer is refused with a stable code
and a French message, and leaves no identity and no session behind."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from educonnect.devtools.oidc_provider import LoopbackOidcProvider, MockProvider, ProviderIdentity
from educonnect.errors import HTTP_STATUS, MESSAGES, ErrorCode
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
    with using_provider(mock_provider.discovery_url):
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
    assert body["details"] == [], body
    assert body["message"] == MESSAGES[code]
    assert "FranceConnect" in body["message"]  # French, and says what to do
    assert "educonnect_session" not in response.cookies
    if caplog is not None:
        logged = [r.getMessage() for r in caplog.records if r.name == "educonnect.franceconnect"]
        assert any(m.startswith(f"FranceConnect refusal {code.value}: {reason}") for m in logged), (
            logged
        )


async def test_authorization_request(api, db_pool, via_mock):
    location = await to_provider(api)
    parts = urlsplit(location)
    assert location.startswith(via_mock.url + "/oauth2/authorize?")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "educonnect-dev"
    assert query["redirect_uri"].endswith("/franceconnect/callback")
    assert query["acr_values"] == "eidas1"
    assert "openid" in query["scope"].split()
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
    """A third-party provider: the claims come in its ID token."""
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
    """FranceConnect's shape: identity claims from the userinfo endpoint."""
    jeanne = person()
    via_loopback.add_identity(jeanne)
    answer = await fc_login(api, jeanne.sub)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "link_required"
    row = await db_pool.fetchrow(
        "SELECT * FROM franceconnect_identities WHERE sub = $1", jeanne.sub
    )
    assert row["issuer"] == via_loopback.issuer and row["birthdate"] == jeanne.birthdate


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


async def test_injected_authorization_with_another_nonce_is_refused(api, db_pool, via_mock):
    """The provider is honest but the authorization it answers was made with
    someone else's nonce (an injected code): its ID token carries that nonce."""
    jeanne = person()
    via_mock.set_identity(jeanne)
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


async def test_state_mismatch_is_refused(api, db_pool, via_mock, caplog):
    jeanne = person()
    via_mock.set_identity(jeanne)
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


async def test_answer_in_another_browser_is_refused(api, db_pool, via_mock):
    """Login CSRF: an answer to a request this browser never made."""
    jeanne = person()
    via_mock.set_identity(jeanne)
    authorize_url = await to_provider(api)
    callback_url = await provider_answer(authorize_url, {"sub": jeanne.sub})
    api.cookies.clear()
    assert_refused(await back_to_us(api, callback_url), ErrorCode.FRANCECONNECT_STATE_INVALID)
    assert await identities(db_pool, jeanne.sub) == 0


async def test_replayed_answer_is_refused(api, db_pool, via_mock):
    jeanne = person()
    via_mock.set_identity(jeanne)
    authorize_url = await to_provider(api)
    callback_url = await provider_answer(authorize_url, {"sub": jeanne.sub})
    assert (await back_to_us(api, callback_url)).status_code == 200
    assert_refused(await back_to_us(api, callback_url), ErrorCode.FRANCECONNECT_STATE_INVALID)


async def test_provider_error_is_refused(api, db_pool, via_mock, caplog):
    """The person cancels at FranceConnect: the provider answers access_denied.
    Its error text is for the log; the person reads what to do."""
    answer = await fc_login(api, "", form={"action": "deny"})
    assert_refused(answer, ErrorCode.FRANCECONNECT_DENIED, "provider error 'access_denied'", caplog)
    assert "access_denied" not in answer.text


async def test_unreachable_provider(api):
    with using_provider("http://127.0.0.1:9/.well-known/openid-configuration"):
        answer = await api.get("/franceconnect/login")
    assert answer.status_code == 503
    assert answer.json()["code"] == "franceconnect_unavailable"
