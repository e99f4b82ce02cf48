"""Birthdate-correction test helpers: a school of the test's own (so that no
other test's reminders reach its staff), staff accounts, a guardian whose
activation is blocked after three wrong birthdates, staff HTTP clients, an
approved correction that a blocked process joined."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import asyncpg
import httpx

from educonnect.models.corrections import StaffRole
from educonnect.staff import create_staff_account
from tests.support.families import Family, make_family

WRONG_BIRTHDATE = date(2014, 1, 1)
NEW_PASSWORD = "Soleil2027b"


@dataclass
class School:
    uai: str
    academie: str
    name: str


@dataclass
class StaffUser:
    id: uuid.UUID
    login: str
    password: str
    email: str


async def make_school(pool: asyncpg.Pool, academie: str | None = None) -> School:
    tag = secrets.randbelow(10**7)
    uai = f"{tag:07d}" + "ABCDEFGHJKLMNPRSTUVWXYZ"[tag % 23]
    academie = academie or f"Test-{uuid.uuid4().hex[:8]}"
    name = f"Collège Essai {uai}"
    await pool.execute(
        "INSERT INTO schools (uai, name, kind, degree, academie, city) VALUES ($1, $2, 'college', 2, $3, 'Lyon')",
        uai,
        name,
        academie,
    )
    return School(uai, academie, name)


async def make_staff(pool: asyncpg.Pool, role: StaffRole, school: School) -> StaffUser:
    tag = uuid.uuid4().hex[:8]
    kind = "ce" if role == StaffRole.SCHOOL_ADMIN else "assistance"
    login = f"{kind}.{tag}@ac-test.example.fr"
    password = f"Essai-{secrets.token_hex(4)}-Fort!9"
    staff_id = await create_staff_account(
        pool,
        login=login,
        email=login,
        # No random part in the name: a hex tag such as "064e1daa" has the name
        # fragment "daa", which the password's random part may contain.
        display_name="Agent Secretariat" if role == StaffRole.SCHOOL_ADMIN else "Agent Assistance",
        role=role,
        password=password,
        uai=school.uai if role == StaffRole.SCHOOL_ADMIN else None,
        academie=school.academie,
    )
    return StaffUser(staff_id, login, password, login)


async def move_children(pool: asyncpg.Pool, guardian_id: uuid.UUID, school: School) -> None:
    """The guardian's children now attend `school`."""
    await pool.execute(
        "UPDATE pupils SET uai = $2 WHERE id IN (SELECT pupil_id FROM guardian_pupils WHERE guardian_id = $1)",
        guardian_id,
        school.uai,
    )


async def family_at(pool: asyncpg.Pool, school: School) -> Family:
    """A provisioned guardian account whose two children attend `school`."""
    family = await make_family(pool)
    await move_children(pool, family.guardian_id, school)
    return family


async def children_of(pool: asyncpg.Pool, family: Family) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT p.id, p.first_name, p.birthdate FROM guardian_pupils gp JOIN pupils p ON p.id = gp.pupil_id "
        "WHERE gp.guardian_id = $1 ORDER BY p.birthdate",
        family.guardian_id,
    )


async def block_activation(
    http: httpx.AsyncClient, family: Family, wrong: date = WRONG_BIRTHDATE
) -> None:
    """Sign in with the school's credentials and type a wrong birthdate three times."""
    http.cookies.clear()
    signed = await http.post(
        "/sign-in", json={"identifier": family.identifier, "password": family.provisional_password}
    )
    assert signed.status_code == 200, signed.text
    profile = {
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
        "email": family.email,
        "child_birthdate": wrong.isoformat(),
    }
    for _ in range(3):
        answer = await http.post("/activation/profile", json=profile)
    assert answer.status_code == 423 and answer.json()["code"] == "birthdate_blocked", answer.text


async def file_request(
    http: httpx.AsyncClient, pupil_id, proposed: date, *, contact: str = "email", **extra
) -> httpx.Response:
    return await http.post(
        "/assistance/date-de-naissance",
        json={
            "pupil_id": str(pupil_id),
            "proposed_birthdate": proposed.isoformat(),
            "message": "La date de naissance de notre fille est erronée dans le dossier de l'établissement.",
            "contact": contact,
            **extra,
        },
    )


async def blocked_and_filed(http: httpx.AsyncClient, family: Family, pupil_id) -> str:
    """The family's activation blocked on a wrong birthdate, then its correction
    request filed for `pupil_id`: the request's id."""
    await block_activation(http, family)
    answer = await file_request(http, pupil_id, WRONG_BIRTHDATE)
    assert answer.status_code == 201, answer.text
    return answer.json()["request_id"]


@dataclass
class SchoolScene:
    """A school, its administrator, and a family whose two children attend it."""

    school: School
    admin: StaffUser
    family: Family
    children: list[asyncpg.Record]


async def school_scene(pool: asyncpg.Pool) -> SchoolScene:
    school = await make_school(pool)
    admin = await make_staff(pool, StaffRole.SCHOOL_ADMIN, school)
    family = await family_at(pool, school)
    return SchoolScene(school, admin, family, await children_of(pool, family))


@asynccontextmanager
async def signed_in_staff(make_client, staff: StaffUser):
    """An HTTP client signed in as `staff` (`make_client()` gives a fresh client)."""
    async with make_client() as http:
        signed = await http.post(
            "/staff/sign-in", json={"login": staff.login, "password": staff.password}
        )
        assert signed.status_code == 200, signed.text
        yield http


async def approved_correction(pool: asyncpg.Pool, process_id: str) -> str:
    """A correction request approved by staff and joined by the process
    `process_id`, as PostgreSQL holds one once approved (no workflow of its
    own): its id, the one an approval's `birthdate_unblocked` signal names."""
    school = await make_school(pool)
    pupil_id, request_id = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO pupils (id, last_name, first_name, birthdate, uai, class_name, level) "
            "VALUES ($1, 'Essai', 'Zoé', $2, $3, '5A', '5e')",
            pupil_id, date(2013, 3, 3), school.uai,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO correction_requests (id, pupil_id, uai, academie, proposed_birthdate, status, "
            "corrected_birthdate, previous_birthdate, decided_at, closed_at) "
            "VALUES ($1, $2, $3, $4, $5, 'approved', $5, $6, now(), now())",
            request_id, pupil_id, school.uai, school.academie, WRONG_BIRTHDATE, date(2013, 3, 3),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO correction_participants (id, request_id, blocked_process_id, requester_name, "
            "contact_channel, contact_email) VALUES ($1, $2, $3, 'Camille Essai', 'email', 'camille@example.fr')",
            uuid.uuid4(), request_id, process_id,
        )  # fmt: skip
    return str(request_id)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait (10 s at most) until `check()` holds, e.g. a process read back its unblock."""
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def flagged_child(pool: asyncpg.Pool, family: Family, pupil_id, school: School) -> uuid.UUID:
    """A dispute "pas le représentant légal" of `family` about its child, awaiting review: its id."""
    dispute_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO attachment_disputes (id, guardian_id, pupil_id, account_id, uai, academie) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        dispute_id, family.guardian_id, pupil_id, family.account_id, school.uai, school.academie,
    )  # fmt: skip
    return dispute_id
