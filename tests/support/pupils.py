"""Second-degree pupils with a provisioned account, and accounts already
active, created directly in PostgreSQL; each test with its own."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from educonnect.passwords import hash_password_async


@dataclass
class PupilAccount:
    account_id: uuid.UUID
    pupil_id: uuid.UUID
    identifier: str
    provisional_password: str
    first_name: str
    last_name: str
    birthdate: date
    uai: str


def random_uai() -> str:
    return f"{random.randrange(10**7):07d}" + random.choice("ABCDEFGHJKLMNPRSTUVWXYZ")


async def make_school(conn, kind: str, *, uai: str | None = None) -> str:
    uai = uai or random_uai()
    degree = 1 if kind == "ecole" else 2
    name = {"ecole": "École Test", "college": "Collège Test", "lycee": "Lycée Test"}[kind]
    await conn.execute(
        "INSERT INTO schools (uai, name, kind, degree, academie, city) VALUES ($1, $2, $3, $4, 'Lyon', 'Lyon') "
        "ON CONFLICT DO NOTHING",
        uai,
        name,
        kind,
        degree,
    )
    return uai


async def make_pupil(
    pool: asyncpg.Pool,
    *,
    school_kind: str = "college",
    level: str = "4e",
    provisional_password: str = "Rentree27x",
    birthdate: date = date(2012, 9, 14),
) -> PupilAccount:
    tag = uuid.uuid4().hex[:8]
    pupil_id, account_id = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        uai = await make_school(conn, school_kind)
        await conn.execute(
            "INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level) "
            "VALUES ($1, $2, 'Inès', $3, $4, $5, $6)",
            pupil_id,
            f"Eleve{tag}",
            birthdate,
            uai,
            f"{level} A",
            level,
        )
        identifier = f"i.eleve{tag}"
        await conn.execute(
            "INSERT INTO accounts (id, kind, identifier, pupil_id, state, provisional_password_hash, "
            "provisional_expires_at) VALUES ($1, 'pupil', $2, $3, 'provisioned', $4, $5)",
            account_id,
            identifier,
            pupil_id,
            await hash_password_async(provisional_password),
            datetime.now(UTC) + timedelta(days=92),
        )
    return PupilAccount(
        account_id,
        pupil_id,
        identifier,
        provisional_password,
        "Inès",
        f"Eleve{tag}",
        birthdate,
        uai,
    )


async def make_active(
    pool: asyncpg.Pool, account_id: uuid.UUID, *, email_verified: bool = True
) -> None:
    """Turn a provisioned account into an active one whose own password is the
    provisional one (as if activated with it)."""
    await pool.execute(
        """
        UPDATE accounts SET state = 'active', password_hash = provisional_password_hash,
            provisional_password_hash = NULL, provisional_expires_at = NULL, activated_at = now(),
            email_verified_at = CASE WHEN $2 AND email IS NOT NULL THEN now() END
        WHERE id = $1
        """,
        account_id,
        email_verified,
    )
