"""Active accounts (as after activation or SMS registration), each test with a
family of its own, and signing in through the real API."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import asyncpg
import httpx

from educonnect.passwords import hash_password_async
from tests.support.families import Family, make_family

PASSWORD = "Soleil2027b"


@dataclass
class ActiveAccount:
    family: Family
    account_id: uuid.UUID
    identifier: str
    password: str
    email: str | None
    mobile: str | None


def random_mobile() -> str:
    """A French mobile number (E.164) that `phonenumbers` accepts, unique enough
    per test (the daily SMS cap is per number)."""
    return "+3366" + "".join(random.choice("0123456789") for _ in range(7))


async def make_active_account(
    pool: asyncpg.Pool,
    *,
    password: str = PASSWORD,
    email_verified: bool = True,
    email: str | None = "default",
    mobile: str | None = None,
) -> ActiveAccount:
    """An active guardian account with its own password; its email (the
    family's by default) validated or not; a verified mobile if given."""
    family = await make_family(pool)
    address = family.email if email == "default" else email
    await pool.execute(
        """
        UPDATE accounts SET state = 'active', password_hash = $2, provisional_password_hash = NULL,
            provisional_expires_at = NULL, activated_at = now(), email = $3,
            email_verified_at = CASE WHEN $4 THEN now() END,
            mobile = $5, mobile_verified_at = CASE WHEN $5::text IS NOT NULL THEN now() END
        WHERE id = $1
        """,
        family.account_id,
        await hash_password_async(password),
        address,
        email_verified and address is not None,
        mobile,
    )
    return ActiveAccount(family, family.account_id, family.identifier, password, address, mobile)


async def sign_in(client: httpx.AsyncClient, identifier: str, password: str) -> httpx.Response:
    client.cookies.clear()
    return await client.post("/sign-in", json={"identifier": identifier, "password": password})
