"""On the way to a school service (DESIGN §10), signing in with
FranceConnect comes back to the service too, as the password does
(`tests/test_service_sign_in.py`)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.support.families import make_family
from tests.support.franceconnect import (  # noqa: F401 (fixtures)
    api,
    fc_api,
    fc_temporal,
    identity_for,
    linked_to_franceconnect,
)
from tests.support.services import ISSUER, query_of, register_service
from tests.test_pages_franceconnect import (  # noqa: F401 (fixtures)
    HTML,
    back_as_a_browser,
    provider,
    via_provider,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_signed_in_through_franceconnect_the_browser_goes_on_to_the_service(
    api, db_pool, via_provider
):
    family = await make_family(db_pool)
    identity = identity_for("Camille", "Famille")
    via_provider.add_identity(identity)
    await linked_to_franceconnect(db_pool, family.account_id, via_provider.issuer, identity.sub)
    service = await register_service(db_pool)
    async with service.client(api._transport) as client:
        url, state = client.create_authorization_url(
            f"{ISSUER}/authorize", code_verifier="v" * 50, nonce="n" * 22
        )
    parts = urlsplit(url)
    to_sign_in = await api.get(f"{parts.path}?{parts.query}", headers=HTML)
    assert to_sign_in.headers["location"] == "/"

    assert await back_as_a_browser(api, identity.sub) == "/portail"
    onwards = await api.get("/portail", headers=HTML)
    assert onwards.status_code == 303
    assert onwards.headers["location"].startswith("/oidc/authorize?")
    back = await api.get(onwards.headers["location"], headers=HTML)
    assert back.headers["location"].startswith(service.redirect_uri + "?")
    answer = query_of(back.headers["location"])
    assert answer["state"] == state and answer["code"]
