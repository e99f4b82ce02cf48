"""The operators' command line for the school services (DESIGN §10), run as
they run it (`python -m educonnect.services_cli`, DATABASE_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from joserfc.jwk import RSAKey

from educonnect.service_clients import find
from educonnect.settings import PROJECT_ROOT

pytestmark = pytest.mark.asyncio(loop_scope="session")


def cli(pg_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "educonnect.services_cli", *args],
        env={**os.environ, "DATABASE_URL": pg_url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_register_list_new_secret_disable_and_a_refused_registration(
    pg_url, db_pool, tmp_path
):
    client_id = f"ent-{uuid.uuid4().hex[:8]}"
    done = cli(
        pg_url, "register", "--client-id", client_id, "--name", "ENT du collège",
        "--redirect-uri", "https://ent.example.fr/callback", "--scope", "openid",
        "--scope", "profile", "--claim", "given_name",
        "--backchannel-logout-uri", "https://ent.example.fr/bcl",
        "--portal-service", "ent", "--initiate-login-uri", "https://ent.example.fr/login",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    secret = done.stdout.split("client secret (shown once): ")[1].strip()
    client = await find(db_pool, client_id)
    assert client is not None and client.check_client_secret(secret)
    assert client.redirect_uris == ("https://ent.example.fr/callback",)
    assert client.claims == ("given_name", "sub")
    assert client.backchannel_logout_uri == "https://ent.example.fr/bcl"
    stored = await db_pool.fetchval(
        "SELECT secret_hash FROM service_clients WHERE client_id = $1", client_id
    )
    assert secret.encode() not in bytes(stored)  # its HMAC only

    listed = cli(pg_url, "list")
    assert client_id in listed.stdout and "ENT du collège" in listed.stdout
    assert secret not in listed.stdout

    renewed = cli(pg_url, "new-secret", client_id)
    new = renewed.stdout.split("client secret (shown once): ")[1].strip()
    client = await find(db_pool, client_id)
    assert client is not None and client.check_client_secret(new)
    assert not client.check_client_secret(secret)

    keys = tmp_path / "keys.json"
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    keys.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    jwt_client = cli(
        pg_url, "register", "--client-id", f"{client_id}-jwt", "--name", "LSU",
        "--auth", "private_key_jwt", "--jwks-file", str(keys),
        "--redirect-uri", "https://lsu.example.fr/cb", "--scope", "openid",
    )  # fmt: skip
    assert jwt_client.returncode == 0 and "secret" not in jwt_client.stdout

    refused = cli(
        pg_url, "register", "--client-id", "x-refused", "--name", "Sans openid",
        "--redirect-uri", "https://x.example.fr/cb", "--scope", "profile",
    )  # fmt: skip
    assert refused.returncode == 2 and "openid" in refused.stderr

    assert cli(pg_url, "disable", client_id).returncode == 0
    assert await find(db_pool, client_id) is None
    assert "new signing key" in cli(pg_url, "rotate-keys").stdout


async def test_the_dev_stacks_services_are_registered_from_settings(db_pool):
    from educonnect.devtools.demo_service import DemoService
    from educonnect.service_clients import register_from_settings

    ent = DemoService(
        "http://127.0.0.1:8000/oidc", client_id=f"ent-{uuid.uuid4().hex[:8]}", port=8123
    )
    await register_from_settings(db_pool, json.dumps([ent.registration()]))
    client = await find(db_pool, ent.client_id)
    assert client is not None and client.check_client_secret(ent.client_secret)
    assert client.backchannel_logout_uri == "http://127.0.0.1:8123/backchannel-logout"
    assert client.portal_service == "ent"
