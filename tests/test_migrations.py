"""Forward-only migrations, applied once even when several processes start together."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from educonnect import db

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_concurrent_starts_apply_each_migration_once(pg_server):
    name = f"migr_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_server.get_uri())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = pg_server.get_uri(name)

    applied = await asyncio.gather(*(db.migrate_url(url) for _ in range(4)))
    expected = [p.stem for p in db.migration_files()]
    assert sorted(applied, key=len)[-1] == expected  # one starter applied them all, in order
    assert sum(len(a) for a in applied) == len(expected)  # and nobody applied one twice
    assert await db.migrate_url(url) == []

    conn = await asyncpg.connect(url)
    try:
        versions = [
            r["version"]
            for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        ]
        assert versions == expected
    finally:
        await conn.close()
