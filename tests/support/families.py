"""School records and provisioned accounts created directly in PostgreSQL,
each test with a family of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from educonnect.passwords import hash_password_async
from tests.support.names import letters_tag

SCHOOL_UAI = "0690001T"


@dataclass
class Family:
    account_id: uuid.UUID
    identifier: str
    provisional_password: str
    email: str
    child_birthdates: list[date]
    guardian_id: uuid.UUID


async def make_family(pool: asyncpg.Pool, *, provisional_password: str = "Bienvenue27x") -> Family:
    tag = letters_tag()
    guardian_id, account_id = uuid.uuid4(), uuid.uuid4()
    birthdates = [date(2013, 4, 17), date(2016, 11, 2)]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO schools (uai, name, kind, degree, academie, city) "
            "VALUES ($1, 'Collège Test', 'college', 2, 'Lyon', 'Lyon') ON CONFLICT DO NOTHING",
            SCHOOL_UAI,
        )
        await conn.execute(
            "INSERT INTO guardians (id, last_name, first_name, mobile, email) VALUES ($1, $2, 'Camille', $3, $4)",
            guardian_id,
            f"Famille{tag}",
            "+33612345678",
            f"camille.{tag}@example.fr",
        )
        for i, birthdate in enumerate(birthdates):
            pupil_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level) "
                "VALUES ($1, $2, $3, $4, $5, '5A', '5e')",
                pupil_id,
                f"Famille{tag}",
                ["Léa", "Hugo"][i],
                birthdate,
                SCHOOL_UAI,
            )
            await conn.execute(
                "INSERT INTO guardian_pupils (guardian_id, pupil_id) VALUES ($1, $2)",
                guardian_id,
                pupil_id,
            )
        identifier = f"c.famille{tag}"
        await conn.execute(
            "INSERT INTO accounts (id, kind, identifier, guardian_id, state, provisional_password_hash, "
            "provisional_expires_at, email) VALUES ($1, 'guardian', $2, $3, 'provisioned', $4, $5, $6)",
            account_id,
            identifier,
            guardian_id,
            await hash_password_async(provisional_password),
            datetime.now(UTC) + timedelta(days=92),
            f"camille.{tag}@example.fr",
        )
    return Family(
        account_id,
        identifier,
        provisional_password,
        f"camille.{tag}@example.fr",
        birthdates,
        guardian_id,
    )


async def submit_activation_profile(http, family: Family, new_password: str):
    """Sign in with the school's credentials and fill "Gérer mon compte" right:
    the answer of "Gérer mon compte" (the activation then sends its link)."""
    http.cookies.clear()
    signed = await http.post(
        "/sign-in", json={"identifier": family.identifier, "password": family.provisional_password}
    )
    assert signed.status_code == 200, signed.text
    return await http.post(
        "/activation/profile",
        json={
            "password": new_password,
            "password_confirmation": new_password,
            "email": family.email,
            "child_birthdate": family.child_birthdates[0].isoformat(),
        },
    )


async def activation_awaiting_the_click(http, family: Family, new_password: str) -> None:
    """`submit_activation_profile`: the activation now waits for the click on
    the link sent to `family.email`."""
    profile = await submit_activation_profile(http, family, new_password)
    assert profile.status_code == 200 and profile.json()["step"] == "awaiting_confirmation", (
        profile.text
    )
