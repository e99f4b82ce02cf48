"""Schools of their own for provisioning tests, and their uploaded files."""

from __future__ import annotations

import random
import uuid

import asyncpg

from educonnect.csv_import import content_sha256

_UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def new_uai() -> str:
    digits = f"069{random.randrange(10_000):04d}"
    return digits + _UAI_LETTERS[int(digits) % 23]


async def make_school(pool: asyncpg.Pool, *, kind: str = "college", name: str | None = None) -> str:
    """A school with a fresh UAI (retrying on the rare collision)."""
    degree = 1 if kind == "ecole" else 2
    label = {"ecole": "École", "college": "Collège", "lycee": "Lycée"}[kind]
    while True:
        uai = new_uai()
        done = await pool.fetchval(
            "INSERT INTO schools (uai, name, kind, degree, academie, city) VALUES ($1, $2, $3, $4, 'Lyon', 'Lyon') "
            "ON CONFLICT DO NOTHING RETURNING uai",
            uai,
            name or f"{label} Test {uuid.uuid4().hex[:6]}",
            kind,
            degree,
        )
        if done:
            return uai


async def store_import(
    pool: asyncpg.Pool, uai: str, content: bytes, filename: str = "export.csv"
) -> uuid.UUID:
    import_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO provisioning_imports (id, uai, filename, content, content_sha256) VALUES ($1, $2, $3, $4, $5)",
        import_id,
        uai,
        filename,
        content,
        content_sha256(content),
    )
    return import_id


def expected_guardian_records(rows) -> int:
    """Guardian records an import of `rows` (school_export.ExportRow) makes for
    new families: one per person recognised by names + mobile or email, and one
    per line for a guardian with neither (never matched across lines)."""
    with_contact = {
        (g.last_name, g.first_name, g.mobile, g.email)
        for r in rows
        for g in r.guardians
        if g.mobile or g.email
    }
    without = sum(1 for r in rows for g in r.guardians if not (g.mobile or g.email))
    return len(with_contact) + without
