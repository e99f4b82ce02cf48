"""The per-IP limits count the address a connection comes from, in the API as
it is served (`python -m api`, the command of the container image, run here as
a subprocess): a client that sends an X-Forwarded-For header of its choosing
with each try cannot spread its failures over invented addresses (DESIGN §4).
Served with uvicorn's proxy headers on (its default, or the image's former
`--forwarded-allow-ips "*"`), every try would count for another address and
the limit would never close."""

from __future__ import annotations

import uuid

import pytest

from educonnect.policies import SIGN_IN_IP_MAX_FAILURES

pytestmark = pytest.mark.asyncio(loop_scope="session")

LOOPBACK = "127.0.0.1"  # where this test's requests really come from


async def test_a_forged_forwarded_for_does_not_dodge_the_per_ip_limit(stack):
    forget = "DELETE FROM sign_in_ip_failures WHERE ip = $1"
    await stack.pool.execute(forget, LOOPBACK)  # other e2e tests sign in from here too
    try:
        async with stack.http() as http:
            for i in range(SIGN_IN_IP_MAX_FAILURES):
                wrong = await http.post(
                    "/sign-in",
                    json={
                        "identifier": f"x.inconnu{uuid.uuid4().hex[:10]}",
                        "password": "Mauvais2026x",
                    },
                    headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
                )
                assert wrong.status_code == 401, (i, wrong.text)
            refused = await http.post(
                "/sign-in",
                json={
                    "identifier": f"x.inconnu{uuid.uuid4().hex[:10]}",
                    "password": "Mauvais2026x",
                },
                headers={"X-Forwarded-For": "198.51.100.77"},
            )
        assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests", (
            refused.text
        )
        counted = await stack.pool.fetch(
            "SELECT ip, count(*) AS failures FROM sign_in_ip_failures "
            "WHERE ip = $1 OR ip LIKE '203.0.113.%' OR ip = '198.51.100.77' GROUP BY ip",
            LOOPBACK,
        )
        assert [(r["ip"], r["failures"]) for r in counted] == [(LOOPBACK, SIGN_IN_IP_MAX_FAILURES)]
    finally:
        await stack.pool.execute(forget, LOOPBACK)
