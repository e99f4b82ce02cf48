"""EduConnect as an OpenID Connect provider for the school services (DESIGN
§10), proved with an independent client library as the service (Authlib's
httpx client; joserfc verifies the ID tokens): code + PKCE S256, refusals
without redirect, single-use codes, expiry, nonce and state, pairwise
subjects, claims limited to the registration, key rotation, private_key_jwt,
the way back after signing in, the audit and « Mon compte »."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import RSAKey

from educonnect import audit, policies, service_grants, signing_keys
from educonnect.devtools.demo_service import DemoService
from educonnect.service_clients import Registration, register
from educonnect.service_history import CLAIM_WORDS, services_used
from educonnect.service_logout import LOGOUT_EVENT
from educonnect.service_provider import SERVICE_SIGN_IN
from tests.support.accounts import make_active_account
from tests.support.families import SCHOOL_UAI
from tests.support.pupils import make_active, make_pupil
from tests.support.services import (
    ISSUER,
    authorize,
    query_of,
    register_service,
    tokens_for,
    verified_id_token,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def app(db_pool):
    from api.app import create_app

    app = create_app()
    app.state.pool = db_pool
    app.state.temporal = None  # active accounts sign in without a process
    return app


@pytest_asyncio.fixture(loop_scope="session")
async def transport(app):
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    return httpx.ASGITransport(app=app, client=(ip, 123))


@pytest_asyncio.fixture(loop_scope="session")
async def browser(transport):
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield client


async def signed_in(browser: httpx.AsyncClient, db_pool):
    account = await make_active_account(db_pool)
    answer = await browser.post(
        "/sign-in", json={"identifier": account.identifier, "password": account.password}
    )
    assert answer.status_code == 200, answer.text
    return account


async def test_code_flow_with_pkce_gives_verified_id_token_state_nonce_and_claims(
    browser, transport, db_pool
):
    account = await signed_in(browser, db_pool)
    service = await register_service(db_pool)
    async with service.client(transport) as client:
        answer, auth = await authorize(browser, client, state="etat-du-service-123")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(service.redirect_uri + "?")
        assert auth.state == "etat-du-service-123" and auth.code
        token = await client.fetch_token(
            f"{ISSUER}/token", code=auth.code, code_verifier=auth.verifier
        )
        claims = await verified_id_token(client, token["id_token"], service.client_id, auth.nonce)
        assert claims["nonce"] == auth.nonce
        assert claims["given_name"] == "Camille"
        assert claims["family_name"].startswith("Famille")
        assert claims["affiliations"] == ["resp2d"]
        assert {
            (c["given_name"], c["school_uai"], c["class_name"]) for c in claims["children"]
        } == {
            ("Léa", SCHOOL_UAI, "5A"),
            ("Hugo", SCHOOL_UAI, "5A"),
        }
        assert claims["sid"]
        info = (await client.get(f"{ISSUER}/userinfo")).json()
        assert info["sub"] == claims["sub"] and info["children"] == claims["children"]

    entries = [
        e
        for e in await audit.entries_for(db_pool, [("account", str(account.account_id))])
        if e.action == SERVICE_SIGN_IN
    ]
    assert len(entries) == 1
    assert entries[0].details["client_id"] == service.client_id
    assert "children" in entries[0].details["claims"]
    assert "class_name" not in entries[0].details["claims"]  # a guardian's: none of their own
    [use] = await services_used(db_pool, account.account_id)  # what « Mon compte » says
    assert use.name == f"Service {service.client_id}"
    assert CLAIM_WORDS["children"] in use.data and CLAIM_WORDS["class_name"] not in use.data
    # Nothing secret kept in clear: the code and the token are stored as their HMAC.
    stored = await db_pool.fetchval(
        "SELECT count(*) FROM oidc_codes WHERE code_hash = $1::bytea", auth.code.encode()
    )
    assert stored == 0


async def test_no_code_token_or_secret_reaches_a_log_even_at_debug(
    browser, transport, db_pool, caplog
):
    caplog.set_level(logging.DEBUG)
    await signed_in(browser, db_pool)
    service = await register_service(db_pool)
    async with service.client(transport) as client:
        token, auth = await tokens_for(browser, client)
        await client.get(f"{ISSUER}/userinfo")
    assert service.secret
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (auth.code, token["access_token"], token["id_token"], service.secret):
        assert secret not in logged


async def test_missing_or_plain_or_wrong_pkce_is_refused(browser, transport, db_pool):
    await signed_in(browser, db_pool)
    service = await register_service(db_pool)
    async with service.client(transport) as client:
        url, _ = client.create_authorization_url(f"{ISSUER}/authorize", nonce="n" * 22)
        answer = await browser.get(url)  # no code_challenge at all
        assert query_of(answer.headers["location"])["error"] == "invalid_request"
        assert "code" not in query_of(answer.headers["location"])

        url, _ = client.create_authorization_url(
            f"{ISSUER}/authorize", code_challenge="x" * 43, code_challenge_method="plain"
        )
        answer = await browser.get(url)
        assert query_of(answer.headers["location"])["error"] == "invalid_request"

        _, auth = await authorize(browser, client)
        with pytest.raises(Exception, match="invalid_grant"):
            await client.fetch_token(f"{ISSUER}/token", code=auth.code, code_verifier="W" * 50)
        _, auth = await authorize(browser, client)
        with pytest.raises(Exception, match="invalid_request"):
            await client.fetch_token(f"{ISSUER}/token", code=auth.code)


async def test_unknown_client_or_redirect_uri_not_exact_get_a_french_page_never_a_redirect(
    browser, transport, db_pool
):
    await signed_in(browser, db_pool)
    service = await register_service(db_pool)
    async with service.client(transport, redirect_uri=service.redirect_uri + "/autre") as client:
        answer, _ = await authorize(browser, client)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert 'data-code="service_redirect_uri_invalid"' in answer.text
    assert "L'adresse de retour demandée n'est pas enregistrée" in answer.text
    assert '<html lang="fr"' in answer.text

    async with service.client(transport, client_id="inconnu-du-tout") as client:
        answer, _ = await authorize(browser, client)
    assert answer.status_code == 400 and "location" not in answer.headers
    assert 'data-code="service_unknown"' in answer.text


async def test_code_reuse_is_refused_and_revokes_the_tokens_it_gave(browser, transport, db_pool):
    await signed_in(browser, db_pool)
    service = await register_service(db_pool)
    async with service.client(transport) as client:
        first, auth = await tokens_for(browser, client)
        assert (await client.get(f"{ISSUER}/userinfo")).status_code == 200
        with pytest.raises(Exception, match="invalid_grant"):
            await client.fetch_token(f"{ISSUER}/token", code=auth.code, code_verifier=auth.verifier)
    userinfo = await browser.get(
        f"{ISSUER}/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert userinfo.status_code == 401
    assert userinfo.headers["www-authenticate"].startswith("Bearer")


async def test_expired_code_and_expired_token_are_refused(browser, transport, db_pool):
    await signed_in(browser, db_pool)
    service = await register_service(db_pool)
    async with service.client(transport) as client:
        _, auth = await authorize(browser, client)
        await db_pool.execute(
            "UPDATE oidc_codes SET expires_at = now() - interval '1 second' WHERE client_id = $1",
            service.client_id,
        )
        with pytest.raises(Exception, match="invalid_grant"):
            await client.fetch_token(f"{ISSUER}/token", code=auth.code, code_verifier=auth.verifier)

        token, auth = await tokens_for(browser, client)
        assert token["expires_in"] == 600
        await db_pool.execute(
            "UPDATE oidc_tokens SET expires_at = now() - interval '1 second' WHERE client_id = $1",
            service.client_id,
        )
        assert (await client.get(f"{ISSUER}/userinfo")).status_code == 401


async def token_claims(browser, transport, service) -> dict:
    async with service.client(transport) as client:
        token, auth = await tokens_for(browser, client)
        return await verified_id_token(client, token["id_token"], service.client_id, auth.nonce)


async def test_pairwise_subjects_differ_between_services_and_stay_stable_for_one(
    browser, transport, db_pool
):
    await signed_in(browser, db_pool)
    ent, lsu = await register_service(db_pool), await register_service(db_pool)
    first = await token_claims(browser, transport, ent)
    again = await token_claims(browser, transport, ent)
    other = await token_claims(browser, transport, lsu)
    assert first["sub"] == again["sub"]
    assert first["sub"] != other["sub"]


async def test_a_service_gets_no_claim_beyond_its_registration(browser, transport, db_pool):
    await signed_in(browser, db_pool)
    narrow = await register_service(
        db_pool, scopes=("openid", "profile", "schooling"), claims=("given_name",)
    )
    async with narrow.client(transport, scope="openid profile affiliations schooling") as client:
        token, auth = await tokens_for(browser, client)
        claims = await verified_id_token(client, token["id_token"], narrow.client_id, auth.nonce)
        info = (await client.get(f"{ISSUER}/userinfo")).json()
    assert token["scope"] == "openid profile schooling"  # affiliations was not registered
    person = {"sub", "given_name", "family_name", "affiliations", "children", "school_uai"}
    assert person & set(claims) == {"sub", "given_name"}
    assert set(info) == {"sub", "given_name"}


async def test_key_rotation_is_seen_by_the_service(browser, transport, db_pool):
    await signed_in(browser, db_pool)
    service = await register_service(db_pool)
    async with service.client(transport) as client:
        before, auth = await tokens_for(browser, client)
        new_kid = await signing_keys.rotate(db_pool)
        after, auth2 = await tokens_for(browser, client)
        old_kid = jwt.decode(before["id_token"], await signing_keys.published(db_pool)).header[
            "kid"
        ]
        assert (
            jwt.decode(after["id_token"], await signing_keys.published(db_pool)).header["kid"]
            == new_kid
            != old_kid
        )
        # The service reads the JWKS again: both the new key and the retired one are there.
        kids = {k["kid"] for k in (await client.get(f"{ISSUER}/jwks")).json()["keys"]}
        assert {old_kid, new_kid} <= kids
        await verified_id_token(client, before["id_token"], service.client_id, auth.nonce)
        await verified_id_token(client, after["id_token"], service.client_id, auth2.nonce)
    # Once the tokens it signed have expired, the retired key is no longer published.
    await db_pool.execute(
        "UPDATE oidc_signing_keys SET retired_at = now() - interval '1 day' WHERE kid = $1", old_kid
    )
    assert old_kid not in {k.kid for k in (await signing_keys.published(db_pool)).keys}


async def test_private_key_jwt_authenticates_and_a_replayed_assertion_does_not(
    browser, transport, db_pool
):
    await signed_in(browser, db_pool)
    key = RSAKey.generate_key(2048, parameters={"kid": "svc-key", "alg": "RS256"})
    service = await register_service(
        db_pool, auth_method="private_key_jwt", jwks={"keys": [key.as_dict(private=False)]}
    )
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    async with AsyncOAuth2Client(
        client_id=service.client_id,
        client_secret=key.as_dict(private=True),
        scope=service.scope,
        redirect_uri=service.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=PrivateKeyJWT(f"{ISSUER}/token", alg="RS256"),
        transport=transport,
    ) as client:
        token, auth = await tokens_for(browser, client)
        await verified_id_token(client, token["id_token"], service.client_id, auth.nonce)
    # Without an assertion (a secret instead): refused.
    _, auth = await authorize(browser, client)
    refused = await browser.post(
        f"{ISSUER}/token",
        data={"grant_type": "authorization_code", "code": auth.code, "code_verifier": auth.verifier,
              "redirect_uri": service.redirect_uri},
        auth=(service.client_id, "pas-un-secret"),
    )  # fmt: skip
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


async def test_an_assertion_id_is_kept_while_its_assertion_is_accepted(db_pool):
    """Past its exp an assertion is accepted for the leeway still: its id stays
    that long, so that a replay then is refused too."""
    client_id, jti = f"svc-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    expired = await db_pool.fetchval("SELECT now() - interval '20 seconds'")
    assert timedelta(seconds=20) < policies.CLIENT_ASSERTION_LEEWAY
    assert await service_grants.assertion_first_seen(db_pool, client_id, jti, expired)
    assert not await service_grants.assertion_first_seen(db_pool, client_id, jti, expired)


async def test_not_signed_in_goes_through_the_sign_in_page_and_comes_back(
    browser, transport, db_pool
):
    account = await make_active_account(db_pool)
    service = await register_service(db_pool)
    async with service.client(transport) as client:
        answer, _ = await authorize(browser, client, state="etat-42")
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        home = await browser.get("/")
        assert (
            f"Connectez-vous pour accéder au service « Service {service.client_id} »" in home.text
        )
        assert "fr-alert--info fr-alert--sm" in home.text  # guidance, not a success
        csrf = home.text.split('name="csrf_token" value="')[1].split('"')[0]
        signed = await browser.post(
            "/connexion",
            data={
                "identifier": account.identifier,
                "password": account.password,
                "csrf_token": csrf,
            },
        )
        assert signed.headers["location"] == "/portail"
        portal = await browser.get("/portail")
        assert portal.status_code == 303 and portal.headers["location"].startswith(
            "/oidc/authorize?"
        )
        back = await browser.get(portal.headers["location"])
        query = query_of(back.headers["location"])
        assert back.headers["location"].startswith(service.redirect_uri)
        assert query["state"] == "etat-42" and query["code"]
        # Once back at the service, the portal is the portal again.
        assert (await browser.get("/portail")).status_code == 200


async def test_signing_out_of_educonnect_ends_the_demo_service_session_by_back_channel(
    transport, db_pool
):
    account = await make_active_account(db_pool)
    ent = DemoService(ISSUER, client_id=f"ent-{uuid.uuid4().hex[:8]}", provider_transport=transport)
    await ent.start()
    try:
        await register(db_pool, Registration.model_validate(ent.registration()))
        # One browser for both sites: EduConnect (in process) and the service (loopback).
        async with httpx.AsyncClient(
            mounts={"http://127.0.0.1:8000": transport, ent.url: httpx.AsyncHTTPTransport()},
            follow_redirects=True,
        ) as browser:
            signed = await browser.post(
                "http://127.0.0.1:8000/sign-in",
                json={"identifier": account.identifier, "password": account.password},
            )
            assert signed.status_code == 200
            page = await browser.get(f"{ent.url}/connexion")
            assert str(page.url) == f"{ent.url}/" and "data-signed-in" in page.text
            assert page.text.count("data-child") == 2 and "Léa" in page.text
            assert "responsable (second degré)" in page.text
            [sub] = ent.signed_in_subjects()

            out = await browser.post("http://127.0.0.1:8000/sign-out")
            assert out.status_code == 200
            assert ent.sessions == {}  # ended by EduConnect's logout token
            [logout] = ent.logouts
            assert logout["sub"] == sub and logout["events"] == {LOGOUT_EVENT: {}}
            assert "data-signed-out" in (await browser.get(f"{ent.url}/")).text

        # A logout token EduConnect did not sign is refused by the service.
        forged_key = RSAKey.generate_key(2048, parameters={"kid": "forged", "alg": "RS256"})
        forged = jwt.encode(
            {"alg": "RS256", "kid": "forged"},
            {**logout, "jti": "autre"},
            forged_key,
        )
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"{ent.url}/backchannel-logout", data={"logout_token": forged})
        assert answer.status_code == 400 and ent.refused_logouts == 1
    finally:
        await ent.stop()


async def test_a_pupil_gets_eleve2d_their_school_and_class(browser, transport, db_pool):
    pupil = await make_pupil(db_pool, level="3e")
    await make_active(db_pool, pupil.account_id)
    signed = await browser.post(
        "/sign-in", json={"identifier": pupil.identifier, "password": pupil.provisional_password}
    )
    assert signed.status_code == 200, signed.text
    claims = await token_claims(browser, transport, await register_service(db_pool))
    assert claims["affiliations"] == ["eleve2d"]
    assert (claims["school_uai"], claims["class_name"]) == (pupil.uai, "3e A")
    assert "children" not in claims
    # Always current: the school moves the pupil to another class, the next sign-in says so.
    await db_pool.execute("UPDATE pupils SET class_name = '3e B' WHERE id = $1", pupil.pupil_id)
    claims = await token_claims(browser, transport, await register_service(db_pool))
    assert claims["class_name"] == "3e B"


async def test_a_merged_account_on_its_way_to_a_service_is_told_which_identifier_to_use(
    browser, transport, db_pool
):
    kept, merged = await make_active_account(db_pool), await make_active_account(db_pool)
    await db_pool.execute(
        "UPDATE accounts SET state = 'merged', merged_into = $2 WHERE id = $1",
        merged.account_id,
        kept.account_id,
    )
    service = await register_service(db_pool)
    async with service.client(transport) as client:
        answer, _ = await authorize(browser, client)
    assert answer.headers["location"] == "/"
    home = await browser.get("/")
    csrf = home.text.split('name="csrf_token" value="')[1].split('"')[0]
    refused = await browser.post(
        "/connexion",
        data={"identifier": merged.identifier, "password": merged.password, "csrf_token": csrf},
    )
    assert refused.headers["location"] == "/"
    page = (await browser.get("/")).text
    assert f"Connectez-vous désormais avec l'identifiant {kept.identifier}" in page.replace(
        "&#39;", "'"
    )


async def test_end_session_signs_out_of_educonnect_and_returns_to_the_registered_address(
    browser, transport, db_pool
):
    await signed_in(browser, db_pool)
    service = await register_service(
        db_pool, post_logout_redirect_uris=["https://ent.example.fr/au-revoir"]
    )
    async with service.client(transport) as client:
        token, auth = await tokens_for(browser, client)
        # An address that is not registered: signed out, but not sent there.
        elsewhere = await browser.get(
            f"{ISSUER}/logout",
            params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example/"},
        )  # fmt: skip
        assert elsewhere.status_code == 200 and "location" not in elsewhere.headers
        assert "Vous êtes déconnecté" in elsewhere.text
        assert (await client.get(f"{ISSUER}/userinfo")).status_code == 401  # its tokens end too

    await signed_in(browser, db_pool)
    async with service.client(transport) as client:
        token, auth = await tokens_for(browser, client)
    back = await browser.get(
        f"{ISSUER}/logout",
        params={"id_token_hint": token["id_token"], "state": "s1",
                "post_logout_redirect_uri": "https://ent.example.fr/au-revoir"},
    )  # fmt: skip
    assert back.headers["location"] == "https://ent.example.fr/au-revoir?state=s1"
    assert (await browser.get("/portail")).status_code == 303  # no session any more
